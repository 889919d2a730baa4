-- Start keeping a live call, unless it is already kept (Twilio may retry /voice/incoming).
-- KEYS[1] call hash   KEYS[2] journey list
-- ARGV[1] ttl seconds   ARGV[2..] field, value pairs of the new call
-- Returns 1 when the call was created, 0 when it already existed.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('DEL', KEYS[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
