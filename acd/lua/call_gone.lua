-- The caller hung up (status callback, or the queue's action with QueueResult=hangup).
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] call sid
-- Waiting: out of line, abandoned. Offered: the offer is withdrawn, the agent freed and routed again,
-- so no agent is ever rung for a caller who is gone. Connecting (accepted, agent's phone not yet
-- answered): abandoned too, the agent freed. Connected: talk time counted, the agent to wrap-up.
-- A pending callback stays in line (the caller hung up as asked). Idempotent.
-- Whatever the state, the call is marked `gone` in this same step: from now on nothing queues it
-- again (enqueue_call.lua refuses it), even a menu answer that Twilio delivers after the hang-up.
-- Returns {what happened, offers made...}.
local sid = ARGV[4]

local function abandon(id)
  local c = K('call:' .. id)
  local queue = hget(c, 'queue') or ''
  local waited = NOW - tonumber(hget(c, 'enqueued_at') or NOW)
  redis.call('HSET', c, 'acd', 'ended', 'outcome', 'abandoned', 'abandoned_at', NOW)
  count(queue, 'abandoned')
  count(queue, 'abandon_wait_s', waited)
  count_max(queue, 'longest_wait_s', waited)
  if waited < 5 then count(queue, 'short_abandoned') end
  event('abandoned', 'call', id, 'queue', queue, 'waited', waited)
end

local call = K('call:' .. sid)
if redis.call('EXISTS', call) == 0 then return {'unknown'} end
redis.call('HSETNX', call, 'gone', NOW)
local state = hget(call, 'acd')
if state == nil or state == 'ended' then return {state or 'ivr'} end
-- A callback's caller hung up as asked; the request keeps its place (and its offer, if any).
if hget(call, 'callback') and (state == 'waiting' or state == 'offered') then return {'callback'} end
local out = {state}
if state == 'waiting' then
  unwait(sid)
  abandon(sid)
elseif state == 'offered' then
  local rid = hget(call, 'offer')
  local agent = hget(K('offer:' .. rid), 'agent')
  redis.call('DEL', K('offer:' .. rid))
  redis.call('ZREM', K('timers'), 'offer:' .. rid)
  abandon(sid)
  if agent then
    publish(agent, {event = 'offer_canceled', reservation_id = rid, call_sid = sid, reason = 'caller_hung_up'})
    free_agent(agent, out)
  end
elseif state == 'connecting' then
  -- accepted, but the agent's phone had not answered yet: the agent is free again
  abandon(sid)
  local agent = hget(call, 'agent')
  if agent and hget(K('agent:' .. agent), 'call') == sid then
    publish(agent, {event = 'offer_canceled', call_sid = sid, reason = 'caller_hung_up'})
    free_agent(agent, out)
  end
else
  end_talk(sid)
end
return out
