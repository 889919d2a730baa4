-- Remove an agent from routing (deleted through the API).
-- KEYS[1] agent hash   KEYS[2] agents set   KEYS[3] idle zset
-- ARGV[1] agent id   ARGV[2] key prefix ("cr:{ws}:")
-- Refused while an offer is out or a call is connected: returns the status then, else 'removed'.
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'reserved' or status == 'busy' then
  return status
end
local skills = redis.call('HGET', KEYS[1], 'skills')
if skills then
  for name, _ in pairs(cjson.decode(skills)) do
    redis.call('ZREM', ARGV[2] .. 'skill:' .. name, ARGV[1])
  end
end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
return 'removed'
