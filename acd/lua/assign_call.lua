-- A supervisor gives a waiting caller to an agent they choose: the offer goes to that agent now,
-- whatever the queue's order and the agent's skills (the supervisor knows why), like any other offer
-- (it times out, may be rejected, and the caller then waits at their place again).
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] call sid   ARGV[6] agent id   ARGV[7] who assigned it
-- Returns {1, rid} offered, or {0, why}: 'not_waiting' (offered, connected or gone already),
-- 'unknown_agent', 'agent_not_available' (the agent is on a call, offered one, on break or offline).
local sid, agent = ARGV[5], ARGV[6]
if hget(K('call:' .. sid), 'acd') ~= 'waiting' then return {0, 'not_waiting'} end
local status = hget(K('agent:' .. agent), 'status')
if not status then return {0, 'unknown_agent'} end
if status ~= 'available' then return {0, 'agent_not_available'} end
local rid = make_offer(sid, agent)
event('assigned', 'call', sid, 'agent', agent, 'rid', rid, 'by', ARGV[7] or '')
return {1, rid}
