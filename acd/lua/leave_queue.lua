-- A waiting call leaves its queue without an agent: overflow (max wait, nobody who could serve) or a
-- callback's customer who cannot be reached. ARGV[6] is the outcome to record.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] call sid   ARGV[6] outcome ('overflowed', ...)
-- Returns 1 when the call left, 0 when it was not waiting (already offered or gone).
local sid, outcome = ARGV[5], ARGV[6]
local call = K('call:' .. sid)
if hget(call, 'acd') ~= 'waiting' then return 0 end
unwait(sid)
redis.call('HSET', call, 'acd', 'left', 'outcome', outcome)
count(hget(call, 'queue'), outcome)
event('left_queue', 'call', sid, 'queue', hget(call, 'queue') or '', 'outcome', outcome)
return 1
