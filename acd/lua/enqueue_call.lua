-- A caller enters a queue: keep the routing fields, put the call in line, offer it if an agent fits.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets
-- ARGV[4] call sid   ARGV[5] call fields JSON (queue, req, reqkey, score, strategy, region, local_first,
--   offer_timeout, max_missed, wrapup_s, enqueued_at, pref_agent, pref_until)
-- ARGV[6] timers JSON [[member, due], ...] (escalations, max wait, preferred-agent expiry)
-- Idempotent: a call already waiting, offered or connected is left as it is (Twilio retries).
-- Returns the offers made: {rid, sid, agent, ...}.
local sid = ARGV[4]
local call = K('call:' .. sid)
local state = hget(call, 'acd')
if state == 'waiting' or state == 'offered' or state == 'connecting' or state == 'connected' then
  return {}
end
local fields = cjson.decode(ARGV[5])
for name, value in pairs(fields) do
  redis.call('HSET', call, name, tostring(value))
end
redis.call('HSET', call, 'status', 'queued')
for _, timer in ipairs(cjson.decode(ARGV[6])) do
  redis.call('ZADD', K('timers'), timer[2], timer[1])
end
wait_in_line(sid)
event('enqueued', 'call', sid, 'queue', fields.queue)
count(fields.queue, 'offered')
return route({sid}, {})
