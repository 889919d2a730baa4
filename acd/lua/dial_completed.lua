-- The agent's Dial ended after a talk: its action came with DialCallStatus=completed, or the agent
-- leg's status callback with `completed` (a leg that was answered). This is authoritative for the
-- answer and the talk, whatever leg callbacks came before, in whatever order, or never: a connecting
-- call (the leg's `answered` callback lost, or still on its way), or one `leaving` (the caller's
-- hang-up came first, call_gone.lua), is counted answered `talk` seconds ago, then the talk ends and
-- the agent enters wrap-up. Repeats and late callbacks change nothing.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce   ARGV[5] call sid
-- ARGV[6] the talk in seconds as Twilio measured it (DialCallDuration or the leg's CallDuration; ''
-- when not given: the answer is then counted now, the talk from the leg's answer until now)
-- ARGV[7] the reservation the Dial or leg was for ('' any): one of an earlier part of the call (before a
-- transfer) changes nothing. A call in its second part or later counts the part from its own answer.
-- Returns 1 when it ended the talk, 0 when the call was not talking (already counted, or not the agent's).
local sid, talk = ARGV[5], tonumber(ARGV[6])
local call = K('call:' .. sid)
if ARGV[7] and ARGV[7] ~= '' and hget(call, 'offer') ~= ARGV[7] then return 0 end
local state = hget(call, 'acd')
if state == 'connected' and hget(call, 'parts') then talk = nil end
if state == 'connecting' or state == 'leaving' then
  redis.call('ZREM', K('timers'), 'leaving:' .. sid)
  answer_call(sid, NOW - (talk or 0))
elseif state ~= 'connected' then
  return 0
end
return end_talk(sid, talk, {})
