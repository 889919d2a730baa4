-- An agent's shift started or ended (computed in Python from their schedule in their own zone).
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] agent id   ARGV[6] on shift now ('1' or '0')
-- An available agent joins or leaves the idle set; joining routes them at once.
-- Returns {changed (1/0), offers made...}.
local id, on = ARGV[5], ARGV[6]
local agent = K('agent:' .. id)
if not hget(agent, 'status') or hget(agent, 'on_shift') == on then return {0} end
redis.call('HSET', agent, 'on_shift', on)
event('shift', 'agent', id, 'on_shift', on)
local out = {1}
if hget(agent, 'status') == 'available' then
  if on == '1' then
    redis.call('ZADD', K('idle'), 'NX', NOW, id)
    for _, x in ipairs(route({}, {id})) do table.insert(out, x) end
  else
    redis.call('ZREM', K('idle'), id)
  end
end
return out
