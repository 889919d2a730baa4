-- Cold transfer to a queue (or to a named agent through a queue: pref_agent keeps the caller for them
-- a while, then any agent of the queue may take it). The primary agent's part ends (wrap-up), everyone
-- else on the call is let go, and the caller waits in the new queue with its requirements at the place
-- they first queued with (their first score, less the queue's transfer priority credit), routed at once.
-- The old queue counts a transfer out, the new one a transfer in (and an offered call).
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] call sid   ARGV[6] agent asking ('' = a supervisor, for whoever is on it)   ARGV[7] transfer id
-- ARGV[8] call fields JSON (as enqueue_call.lua's, its score aside)   ARGV[9] timers JSON [[member, due], ...]
-- ARGV[10] priority credit in ms (subtracted from the first score)   ARGV[11] transfer JSON {kind, target, notes}
-- Returns {1, offers made...}, or {0, why}: 'not_connected', 'not_yours', 'transfer_under_way', 'nobody'
-- (nobody logged in could serve the new queue: nothing changed).
local sid, by, xid = ARGV[5], ARGV[6], ARGV[7]
local call = K('call:' .. sid)
if hget(call, 'acd') ~= 'connected' or hget(call, 'gone') then return {0, 'not_connected'} end
local primary = hget(call, 'agent')
if by ~= '' and by ~= primary then return {0, 'not_yours'} end
if hget(call, 'xfer') then return {0, 'transfer_under_way'} end
local fields = cjson.decode(ARGV[8])
if not anyone_could_serve(cjson.decode(fields.req)) then return {0, 'nobody'} end
local info = cjson.decode(ARGV[11])
local old_queue = hget(call, 'queue')
local first = tonumber(hget(call, 'first_score') or hget(call, 'score'))
if first < 1e11 then first = math.floor(first * 1000 + 0.5) end        -- scored in seconds (old calls)
local out = {1}
if primary then                                  -- before their `ended`: their page says where the call went
  publish(primary, {event = 'transfer', call_sid = sid, transfer_id = xid, state = 'completed', mode = 'cold',
                    to = {[info.kind or 'queue'] = info.target or fields.queue}})
end
end_part(sid, nil)
release_parties(sid, out, 'transferred')
redis.call('HDEL', call, 'agent', 'answered_at', 'talk_counted', 'offer', 'held_at', 'pref_agent', 'pref_until',
           'offered_at', 'tried')
redis.call('DEL', K('tried:' .. sid))
redis.call('HINCRBY', call, 'parts', 1)
for name, value in pairs(fields) do redis.call('HSET', call, name, tostring(value)) end
redis.call('HSET', call, 'first_score', int(first), 'score', int(first - tonumber(ARGV[10])), 'status', 'queued')
-- the first queue's timers must not act on the caller's wait in this one
local stale = {'maxwait:' .. sid, 'preferred:' .. sid}
for i = 0, 19 do stale[#stale + 1] = 'escalate:' .. sid .. ':' .. i end
redis.call('ZREM', K('timers'), unpack(stale))
for _, timer in ipairs(cjson.decode(ARGV[9])) do redis.call('ZADD', K('timers'), timer[2], timer[1]) end
local t = K('transfer:' .. xid)
redis.call('HSET', t, 'call', sid, 'by', primary or '', 'mode', 'cold', 'kind', info.kind or 'queue',
           'target', info.target or fields.queue, 'notes', info.notes or '', 'state', 'completed', 'created', NOW_TEXT,
           'ended', NOW_TEXT)
redis.call('EXPIRE', t, 86400)
count(old_queue, 'transferred_out')
count(fields.queue, 'transferred_in')
count(fields.queue, 'offered')
segment(sid, {kind = 'transfer', mode = 'cold', by = primary, to_kind = info.kind, to = info.target,
              queue = fields.queue, notes = info.notes})
event('transferred', 'call', sid, 'queue', fields.queue, 'by', primary or '')
wait_in_line(sid)
for _, x in ipairs(route({sid}, {})) do table.insert(out, x) end
return out
