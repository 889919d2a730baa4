-- The agent's leg answered: the caller and the agent talk.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] call sid
-- Counts the answer (and whether it met the service level) once. Returns 1, or 0 if not connecting.
local sid = ARGV[4]
local call = K('call:' .. sid)
if hget(call, 'acd') ~= 'connecting' then return 0 end
local agent = hget(call, 'agent')
local queue = hget(call, 'queue')
local waited = NOW - tonumber(hget(call, 'enqueued_at') or NOW)
redis.call('HSET', call, 'acd', 'connected', 'answered_at', NOW, 'outcome', 'answered')
count(queue, 'answered')
count(queue, 'answer_wait_s', waited)
count_max(queue, 'longest_wait_s', waited)
if waited <= tonumber(hget(call, 'service_level_s') or 20) then count(queue, 'answered_sl') end
if hget(call, 'callback') then count(queue, 'callbacks_served') end
redis.call('HINCRBY', K('agent:' .. agent), 'calls', 1)
-- last-agent routing: this caller's next call may wait a little for the same agent
local caller = hget(call, 'from')
if caller and caller ~= '' then redis.call('SET', K('last-agent:' .. caller), agent, 'EX', 30 * 86400) end
count_agent(agent, 'calls')
publish(agent, {event = 'connected', call_sid = sid})
event('connected', 'call', sid, 'agent', agent, 'waited', waited)
return 1
