-- Keep what one IVR turn did: append journey steps, set call fields, refresh retention.
-- KEYS[1] call hash   KEYS[2] journey list
-- ARGV[1] live ttl s   ARGV[2] number of journey steps n   ARGV[3..2+n] steps (JSON)
-- ARGV[3+n..] field, value pairs for the call hash
-- An ended call keeps its (shorter) ended retention: late callbacks must not revive it.
local n = tonumber(ARGV[2])
for i = 3, 2 + n do
  redis.call('RPUSH', KEYS[2], ARGV[i])
end
if #ARGV > 2 + n then
  local fields = {}
  for i = 3 + n, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(fields))
end
if redis.call('HEXISTS', KEYS[1], 'ended_at') == 1 then
  redis.call('HSET', KEYS[1], 'status', 'ended')
end
if redis.call('HEXISTS', KEYS[1], 'ended_at') == 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
elseif redis.call('TTL', KEYS[2]) < 0 then
  redis.call('EXPIRE', KEYS[2], redis.call('TTL', KEYS[1]))
end
return 1
