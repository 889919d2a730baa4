-- The caller is put on hold or taken off it: by the agent's console or a supervisor (after the REST
-- update of the caller's conference participant), or by Twilio's participant-hold callback confirming
-- it. Hold time is counted per call, queue and agent when the hold ends (end_hold in lib.lua), so a
-- repeat or a crossing callback changes nothing.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] call sid   ARGV[6] '1' hold | '0' resume
-- Returns {1, hold seconds so far} when it changed, {0, hold seconds} when it was so already, {-1}
-- when the call is not connected to an agent (or its caller is gone).
local sid, on = ARGV[5], ARGV[6] == '1'
local call = K('call:' .. sid)
if hget(call, 'acd') ~= 'connected' or hget(call, 'gone') then return {-1} end
local changed = 0
if on and not hget(call, 'held_at') then
  redis.call('HSET', call, 'held_at', NOW_TEXT)
  publish_call(sid, {event = 'held', call_sid = sid})
  event('held', 'call', sid)
  changed = 1
elseif not on and hget(call, 'held_at') then
  end_hold(sid)
  event('resumed', 'call', sid)
  changed = 1
end
return {changed, hget(call, 'hold_s') or '0'}
