-- The call leaves the contact center for an outside number: a cold transfer (the caller's call is
-- sent to dial it), a warm one completing (the number stays in the conference with the caller), or a
-- number's warm transfer starting and ending. The ACD's part of the call is over: the agent wraps up,
-- everyone else is let go, the old queue counts a transfer out.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] call sid   ARGV[6] agent asking ('' = a supervisor)   ARGV[7] transfer id
-- ARGV[8] what: 'cold' (hand over now), 'begin' (a warm transfer rings the number), 'joined' (the number
-- answered: consulting), 'complete' (hand over after the consult)
-- ARGV[9] transfer JSON {target, notes, by_name}
-- Returns {1, offers made...}, or {0, why}: 'not_connected', 'not_yours', 'transfer_under_way', 'over',
-- 'not_consulting'.
local sid, by, xid, what = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local call = K('call:' .. sid)
if hget(call, 'acd') ~= 'connected' or hget(call, 'gone') then return {0, 'not_connected'} end
local primary = hget(call, 'agent')
if by ~= '' and by ~= primary then return {0, 'not_yours'} end
local info = cjson.decode(ARGV[9])
local t = K('transfer:' .. xid)
if what == 'cold' or what == 'begin' then
  if hget(call, 'xfer') then return {0, 'transfer_under_way'} end
  redis.call('HSET', t, 'call', sid, 'by', primary or '', 'mode', what == 'cold' and 'cold' or 'warm',
             'kind', 'number', 'target', info.target or '', 'notes', info.notes or '', 'state', 'ringing',
             'created', NOW_TEXT)
  redis.call('EXPIRE', t, 86400)
  if what == 'begin' then
    redis.call('HSET', call, 'xfer', xid)
    publish_call(sid, {event = 'transfer', call_sid = sid, transfer_id = xid, state = 'ringing', mode = 'warm'})
    return {1}
  end
elseif hget(call, 'xfer') ~= xid then
  return {0, 'over'}
elseif what == 'joined' then
  if hget(t, 'state') ~= 'ringing' then return {0, 'over'} end
  redis.call('HSET', t, 'state', 'consulting')
  publish_call(sid, {event = 'transfer', call_sid = sid, transfer_id = xid, state = 'consulting', mode = 'warm'})
  return {1}
elseif hget(t, 'state') ~= 'consulting' then
  return {0, 'not_consulting'}
end
local out = {1}
redis.call('HDEL', call, 'xfer')
redis.call('HSET', t, 'state', 'completed', 'ended', NOW_TEXT)
count(hget(call, 'queue'), 'transferred_out')
segment(sid, {kind = 'transfer', mode = hget(t, 'mode'), by = primary, to_kind = 'number', to = info.target,
              notes = info.notes})
if primary then            -- before their `ended` (end_talk)
  publish(primary, {event = 'transfer', call_sid = sid, transfer_id = xid, state = 'completed', mode = hget(t, 'mode'),
                    to = {number = info.target}})
end
end_talk(sid, nil, out)
redis.call('HSET', call, 'outcome', 'transferred')
event('transferred', 'call', sid, 'number', info.target or '', 'by', primary or '')
return out
