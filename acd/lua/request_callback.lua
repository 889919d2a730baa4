-- A waiting caller pressed * for a callback: they hang up but keep their place in line.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] call sid   ARGV[6] number to call back
-- The call stays in its waiting sets at its score; `callback` marks it, so the caller's hang-up does
-- not abandon it. Returns 1, or 0 when the call is not waiting (already offered or gone).
local sid, number = ARGV[5], ARGV[6]
local call = K('call:' .. sid)
if hget(call, 'acd') ~= 'waiting' or hget(call, 'callback') then return 0 end
redis.call('HSET', call, 'callback', 1, 'callback_number', number, 'callback_at', NOW, 'outcome', 'callback')
count(hget(call, 'queue'), 'callbacks')
event('callback_requested', 'call', sid, 'queue', hget(call, 'queue') or '')
return 1
