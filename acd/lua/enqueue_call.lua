-- A caller enters a queue: keep the routing fields, put the call in line, offer it if an agent fits.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] call sid   ARGV[6] call fields JSON (queue, req, reqkey, score, strategy, region, local_first,
--   offer_timeout, max_missed, wrapup_s, enqueued_at, ladder, [pref_agent, pref_until], [callback_number]);
--   ladder: JSON list of the requirements the escalation steps will set, in order; callback_number: a
--   callback request from the IVR (a `callback` node), which waits in line like a caller who pressed *
-- ARGV[7] timers JSON [[member, due], ...] (escalations, max wait)
-- ARGV[8] caller's number   ARGV[9] seconds to wait for the caller's last agent (0: none)
-- ARGV[10] the IVR request's turn token ('' none): the IVR's turn, run just before in the same round
--   trip, kept it as the call's `turn` unless the request was stale (apply_turn.lua)
-- ARGV[11] deadline on Redis's clock, epoch seconds ('' none): by then the web request gave up waiting
--   for this reply and told the caller sorry (a Redis paused or overloaded); run later, the command
--   must not put in line a caller who heard the apology and hangs up
-- Returns {'late'} past the deadline (nothing done); {'queued', offers made: rid, sid, agent, ...}; {'already'} for a call already waiting,
-- offered or connected (Twilio retries, a failed connect); {'nobody'} when no logged-in agent (any
-- status but offline, on shift or not) holds the requirements, now or after an escalation step: the
-- caller is not queued then (the queue counts them offered and overflowed);
-- {'unknown'} when the call hash does not exist (the IVR's turn, run just before, refused it);
-- {'stale'} when the call's `turn` is another request's: this one repeats a menu answer Twilio sent
-- before (a retry, a late copy), which must not put the caller in line a second time, whatever
-- became of them since (waiting, talking, talked, overflowed);
-- {'ended'} when the caller is gone (a hang-up was learned: call_gone.lua's `gone`, or the IVR's
-- `ended_at`): Twilio may deliver a menu answer after the final status, and an ended call never
-- waits, is offered or connects again.
if ARGV[11] and ARGV[11] ~= '' then
  local t = redis.call('TIME')
  if tonumber(t[1]) + tonumber(t[2]) / 1e6 > tonumber(ARGV[11]) then return {'late'} end
end
local sid = ARGV[5]
local call = K('call:' .. sid)
if redis.call('EXISTS', call) == 0 then return {'unknown'} end
local f = redis.call('HMGET', call, 'gone', 'ended_at', 'acd', 'turn')
if f[1] or f[2] then return {'ended'} end
if ARGV[10] and ARGV[10] ~= '' and f[4] ~= ARGV[10] then return {'stale'} end
local state = f[3]
if state == 'waiting' or state == 'offered' or state == 'connecting' or state == 'connected' then
  return {'already'}
end
local fields = cjson.decode(ARGV[6])
local servable = anyone_could_serve(cjson.decode(fields.req))
for _, later in ipairs(cjson.decode(fields.ladder or '[]')) do
  servable = servable or anyone_could_serve(later)   -- e.g. a language preference dropped after a while
end
if not servable then
  -- counted as the call record will count it (offered to the queue, overflowed), once per call: the
  -- board and the reports agree on a caller sent on because nobody who could serve them was logged in
  if redis.call('HSETNX', call, 'nobody_counted', 1) == 1 then
    count(fields.queue, 'offered')
    count(fields.queue, 'overflowed')
  end
  return {'nobody'}
end
for name, value in pairs(fields) do
  redis.call('HSET', call, name, tostring(value))
end
redis.call('HSET', call, 'status', 'queued')
if fields.callback_number then        -- marked before routing: an offer made now is a callback's
  redis.call('HSET', call, 'callback', 1, 'callback_at', NOW, 'outcome', 'callback')
  count(fields.queue, 'callbacks')
  event('callback_requested', 'call', sid, 'queue', fields.queue)
end
for _, timer in ipairs(cjson.decode(ARGV[7])) do
  redis.call('ZADD', K('timers'), timer[2], timer[1])
end
-- last-agent routing: wait a little for the agent who served this caller last time
local pref_wait = tonumber(ARGV[9])
if pref_wait > 0 and not fields.pref_agent and ARGV[8] ~= '' then
  local previous = redis.call('GET', K('last-agent:' .. ARGV[8]))
  if previous then
    redis.call('HSET', call, 'pref_agent', previous, 'pref_until', NOW + pref_wait)
    redis.call('ZADD', K('timers'), NOW + pref_wait, 'preferred:' .. sid)
  end
end
wait_in_line(sid)
event('enqueued', 'call', sid, 'queue', fields.queue)
count(fields.queue, 'offered')
local out = {'queued'}
for _, x in ipairs(route({sid}, {})) do table.insert(out, x) end
return out
