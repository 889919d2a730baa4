-- The agent's leg answered: the caller and the agent talk.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce   ARGV[5] call sid
-- ARGV[6] the reservation the leg was dialed for ('' any): a leg of an earlier part of the call (before
-- a transfer) changes nothing
-- Counts the answer (and whether it met the service level) once. Returns 1, or 0 if not connecting
-- (a repeat, or a leg callback that comes after the Dial's end already counted the talk).
local sid = ARGV[5]
if hget(K('call:' .. sid), 'acd') ~= 'connecting' then return 0 end
if ARGV[6] and ARGV[6] ~= '' and hget(K('call:' .. sid), 'offer') ~= ARGV[6] then return 0 end
answer_call(sid, NOW)
return 1
