-- The caller hung up (status callback, or the queue's action with QueueResult=hangup).
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce   ARGV[5] call sid
-- Waiting: out of line, abandoned. Offered: the offer is withdrawn, the agent freed and routed again,
-- so no agent is ever rung for a caller who is gone. Connecting (accepted; the agent's phone ringing,
-- or answered with its `answered` callback lost or still on its way): only the Dial's end tells, so
-- the call is `leaving` and the agent held until the Dial action or the agent leg's final callback
-- says (dial_completed.lua: it was answered, the talk counted; dial_failed.lua: abandoned, the agent
-- freed), or, when neither comes within LEAVING_S, the `leaving:` timer abandons it (dial_failed.lua).
-- Connected: talk time counted, the agent to wrap-up.
-- A pending callback stays in line (the caller hung up as asked). Idempotent.
-- Whatever the state, the call is marked `gone` in this same step: from now on nothing queues it
-- again (enqueue_call.lua refuses it), even a menu answer that Twilio delivers after the hang-up.
-- Returns {what happened, offers made...}.
local sid = ARGV[5]

local LEAVING_S = 10     -- Twilio posts the Dial action within moments of the hang-up

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
  redis.call('HSET', call, 'acd', 'leaving')
  redis.call('ZADD', K('timers'), NOW + LEAVING_S, 'leaving:' .. sid)
elseif state == 'leaving' then
  -- a repeated hang-up: the Dial's end (or the timer) decides
else
  end_talk(sid, nil, out)
end
return out
