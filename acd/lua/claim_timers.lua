-- Claim the timers that are due, so that each is handled by exactly one of several tickers.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] at most
-- Returns the claimed members ("offer:<rid>", "wrapup:<agent>:<sid>", "escalate:<sid>:<step>", ...).
local due = redis.call('ZRANGEBYSCORE', K('timers'), '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[4]))
if #due > 0 then redis.call('ZREM', K('timers'), unpack(due)) end
return due
