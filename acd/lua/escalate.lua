-- An escalation step of a waiting call is due: its required skills are replaced, and it is routed again.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] call sid   ARGV[6] requirements JSON   ARGV[7] requirements key
-- Returns {1, offers made...}; {0} when the call no longer waits (offered calls take the new
-- requirements with them if they come back).
local sid, req, reqkey = ARGV[5], ARGV[6], ARGV[7]
local call = K('call:' .. sid)
local state = hget(call, 'acd')
if state ~= 'waiting' and state ~= 'offered' then return {0} end
if state == 'waiting' then unwait(sid) end
redis.call('HSET', call, 'req', req, 'reqkey', reqkey)
event('escalated', 'call', sid, 'reqkey', reqkey)
if state ~= 'waiting' then return {0} end
wait_in_line(sid)
local out = {1}
for _, x in ipairs(route({sid}, {})) do table.insert(out, x) end
return out
