-- The agent's leg answered: the caller and the agent talk.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce   ARGV[5] call sid
-- ARGV[6] the reservation the leg was dialed for ('' any): a leg of an earlier part of the call (before
-- a transfer) changes nothing
-- Counts the answer (and whether it met the service level) once. Returns 1, or 0 if not connecting
-- (a repeat, or a leg callback that comes after the Dial's end already counted the talk). A leg that
-- answers after the caller hung up (`leaving`, call_gone.lua) is marked `answered_alone` (legs:<sid>): its end is
-- no talk (acd/legs.py lets the call go as abandoned).
local sid = ARGV[5]
local call = K('call:' .. sid)
if ARGV[6] and ARGV[6] ~= '' and hget(call, 'offer') ~= ARGV[6] then return 0 end
local state = hget(call, 'acd')
if state == 'leaving' then                       -- kept with the call's legs (acd/legs.py reads it)
  redis.call('HSET', K('legs:' .. sid), 'answered_alone', 1)
  redis.call('EXPIRE', K('legs:' .. sid), 86400)
end
if state ~= 'connecting' then return 0 end
answer_call(sid, NOW)
return 1
