-- An agent is asked to join a connected call: consulted for a warm transfer (a transfer id) or added
-- as a three-way party. They get an offer as for any call (offer:<rid> of kind 'party'), answered
-- with the same accept and reject (answer_offer.lua) and timing out the same way, and stay on the
-- call's parties:<sid> hash (agent -> JSON {kind, who, role, state, transfer, rid, joined_at}) while
-- they are on it. The agent is reserved in this same step: no agent is ever asked onto two calls.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] call sid   ARGV[6] agent id ('' = the longest idle agent who meets ARGV[7])
-- ARGV[7] requirements JSON ({} for none)   ARGV[8] role: 'consult' | 'party'
-- ARGV[9] transfer id ('' for a party)   ARGV[10] transfer JSON {by, by_name, mode, kind, target, notes}
-- ARGV[11] seconds the offer stays open
-- Returns {1, rid, agent}, or {0, why}: 'not_connected', 'transfer_under_way', 'on_call' (the agent is
-- on it already), 'busy' (the agent is not available and on shift), 'nobody' (no free agent qualifies).
local sid, wanted, req, role, xid = ARGV[5], ARGV[6], cjson.decode(ARGV[7]), ARGV[8], ARGV[9]
local call = K('call:' .. sid)
if hget(call, 'acd') ~= 'connected' or hget(call, 'gone') then return {0, 'not_connected'} end
if xid ~= '' and hget(call, 'xfer') then return {0, 'transfer_under_way'} end
local primary = hget(call, 'agent')
local parties = K('parties:' .. sid)
local agent
if wanted ~= '' then
  if wanted == primary or redis.call('HEXISTS', parties, wanted) == 1 then return {0, 'on_call'} end
  if not redis.call('ZSCORE', K('idle'), wanted) then return {0, 'busy'} end
  agent = wanted
else
  for _, a in ipairs(redis.call('ZRANGE', K('idle'), 0, -1)) do
    if a ~= primary and redis.call('HEXISTS', parties, a) == 0 and qualifies(a, req) then
      agent = a
      break
    end
  end
  if not agent then return {0, 'nobody'} end
end
local rid = new_rid()
local deadline = NOW + tonumber(ARGV[11])
local info = ARGV[10] ~= '' and cjson.decode(ARGV[10]) or {}
redis.call('HSET', K('offer:' .. rid), 'call', sid, 'agent', agent, 'queue', hget(call, 'queue') or '',
           'created', NOW_TEXT, 'deadline', tostring(deadline), 'state', 'pending', 'kind', 'party', 'role', role,
           'xfer', xid)
local agent_key = K('agent:' .. agent)
left_status(agent_key, agent)
redis.call('HSET', agent_key, 'status', 'reserved', 'since', NOW_TEXT, 'offer', rid, 'call', sid, 'role', role)
redis.call('ZREM', K('idle'), agent)
redis.call('ZADD', K('timers'), deadline, 'offer:' .. rid)
redis.call('HSET', parties, agent, cjson.encode({kind = 'agent', who = agent, role = role, state = 'offered',
                                                 transfer = xid, rid = rid}))
redis.call('EXPIRE', parties, 86400)
local transfer = cjson.null
if xid ~= '' then
  local t = K('transfer:' .. xid)
  redis.call('HSET', t, 'call', sid, 'by', info.by or primary or '', 'mode', info.mode or 'warm',
             'kind', info.kind or 'agent', 'target', info.target or agent, 'notes', info.notes or '',
             'state', 'ringing', 'agent', agent, 'rid', rid, 'created', NOW_TEXT)
  redis.call('EXPIRE', t, 86400)
  redis.call('HSET', call, 'xfer', xid)
  transfer = {transfer_id = xid, by = info.by, by_name = info.by_name, mode = info.mode, notes = info.notes}
  publish_call(sid, {event = 'transfer', call_sid = sid, transfer_id = xid, state = 'ringing', mode = info.mode,
                     agent = agent})
end
event('party_offer', 'rid', rid, 'call', sid, 'agent', agent, 'role', role)
publish(agent, {event = 'offer', reservation_id = rid, call_sid = sid, queue = hget(call, 'queue') or '',
                expires_at = deadline, callback = false, role = role, transfer = transfer})
return {1, rid, agent}
