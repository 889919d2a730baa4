-- A ticker has handled the timers it claimed (claim_timers.lua, with the same now and lease): they go,
-- unless one was set again meanwhile or its lease ran out and another ticker claimed it (its due time
-- is then no longer this claim's).
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] the claim's now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] lease, seconds   ARGV[6..] the claimed members
-- Returns how many went.
local leased = tonumber(string.format('%.3f', NOW + tonumber(ARGV[5])))
local gone = 0
for i = 6, #ARGV do
  local at = redis.call('ZSCORE', K('timers'), ARGV[i])
  if at and tonumber(at) == leased then gone = gone + redis.call('ZREM', K('timers'), ARGV[i]) end
end
return gone
