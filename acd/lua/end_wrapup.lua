-- Wrap-up ends (POST /api/calls/<sid>/wrapup, or its timer): the agent is available again unless they
-- chose break or offline meanwhile, and is routed at once.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] agent id   ARGV[6] call sid
-- Returns {1, status, offers made...}, or {0} when the agent is not wrapping up that call.
local id, sid = ARGV[5], ARGV[6]
local agent = K('agent:' .. id)
if hget(agent, 'status') ~= 'wrapup' or hget(agent, 'call') ~= sid then return {0} end
redis.call('ZREM', K('timers'), 'wrapup:' .. id .. ':' .. sid)
local call = K('call:' .. sid)
local wrapped = NOW - tonumber(hget(agent, 'since') or NOW)
count(hget(call, 'queue'), 'wrap_s', wrapped)
redis.call('HSET', call, 'wrap_s', wrapped)          -- for the call record
local next_status = hget(agent, 'after_wrapup') or 'available'
left_status(agent, id)
redis.call('HSET', agent, 'status', next_status, 'since', NOW)
redis.call('HDEL', agent, 'after_wrapup', 'call')
publish(id, {event = 'status', status = next_status, since = NOW})
event('wrapup_done', 'call', sid, 'agent', id, 'wrap_s', wrapped)
local out = {1, next_status}
if next_status == 'available' and hget(agent, 'on_shift') == '1' then
  redis.call('ZADD', K('idle'), NOW, id)
  for _, x in ipairs(route({}, {id})) do table.insert(out, x) end
end
return out
