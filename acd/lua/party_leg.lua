-- The leg of an agent on a connected call who is not its primary agent (consulted, a three-way party)
-- joined the conference ('joined': answered), left it ('left': hung up, removed, the conference
-- ended) or never came ('failed': no answer, busy). Joining moves a warm transfer from ringing to
-- consulting; leaving frees the agent (a party who talked to the caller wraps up) and fails the
-- transfer they were the target of, unless it was completed.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] call sid   ARGV[6] agent id   ARGV[7] 'joined' | 'left' | 'failed'
-- Returns {1, offers made...} when it changed something, {0} for a repeat, a late callback or an agent
-- who is no longer on the call.
local sid, agent, what = ARGV[5], ARGV[6], ARGV[7]
local parties = K('parties:' .. sid)
local raw = hget(parties, agent)
local agent_key = K('agent:' .. agent)
if not raw or hget(agent_key, 'call') ~= sid or hget(agent_key, 'status') ~= 'busy' then return {0} end
local p = cjson.decode(raw)
local call = K('call:' .. sid)
local xid = hget(call, 'xfer')
if what == 'joined' then
  if p.state == 'joined' then return {0} end
  p.state, p.joined_at = 'joined', NOW
  redis.call('HSET', parties, agent, cjson.encode(p))
  if xid and p.transfer == xid then
    redis.call('HSET', K('transfer:' .. xid), 'state', 'consulting')
    publish_call(sid, {event = 'transfer', call_sid = sid, transfer_id = xid, state = 'consulting', agent = agent})
  end
  publish_call(sid, {event = 'party_joined', call_sid = sid, party = p})
  event('party_joined', 'call', sid, 'agent', agent)
  return {1}
end
redis.call('HDEL', parties, agent)
local out = {1}
if xid and p.transfer == xid then end_transfer(sid, 'failed', what == 'failed' and 'no_answer' or 'target_left') end
publish_call(sid, {event = 'party_left', call_sid = sid, party = p})
publish(agent, {event = 'party_left', call_sid = sid, party = p})
event('party_left', 'call', sid, 'agent', agent)
if p.state == 'joined' then
  segment(sid, {kind = p.role, agent = agent, from = p.joined_at, to = NOW})
  if p.role == 'party' then
    to_wrapup(agent, sid)
    return out
  end
end
free_agent(agent, out)
return out
