-- An agent accepts or rejects an offer, or it times out. Exactly one of them wins an offer.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] reservation id   ARGV[6] 'accept' | 'reject' | 'timeout'   ARGV[7] agent id ('' = any)
-- accept: the agent is busy and the call connecting. reject/timeout: the call goes back to its place
-- in line, the agent to available (timeout: a miss; max_missed misses in a row: break), and both are
-- routed again at once. An accept more than a second after the offer's deadline is that timeout: the
-- offer expired whether or not a worker's clock fired it (a dead worker's timers wait for another).
-- An offer to join a connected call (kind 'party', offer_party.lua): accepted, the agent is busy on
-- the call, their leg about to ring (code 3); rejected or timed out, the agent is free again without a
-- miss (joining someone's call is no queue's offer) and the transfer it served failed (code 4).
-- Returns {code, call sid, offers made...}: code 1 done, 2 the accept came too late (handled as the
-- timeout), 0 the offer is gone; {3, call sid, role, transfer id}; {4, call sid, offers made...}.
local rid, how, who = ARGV[5], ARGV[6], ARGV[7]
local offer = K('offer:' .. rid)
if hget(offer, 'state') ~= 'pending' then return {0} end
local sid, agent = hget(offer, 'call'), hget(offer, 'agent')
if who ~= '' and who ~= agent then return {0} end
local late = how == 'accept' and NOW > tonumber(hget(offer, 'deadline') or NOW) + ACCEPT_GRACE_S
if late then how = 'timeout' end
local call, agent_key = K('call:' .. sid), K('agent:' .. agent)
redis.call('ZREM', K('timers'), 'offer:' .. rid)
if hget(offer, 'kind') == 'party' then
  local role, xid = hget(offer, 'role'), hget(offer, 'xfer') or ''
  local parties = K('parties:' .. sid)
  local raw = hget(parties, agent)
  if how == 'accept' and raw and hget(call, 'acd') == 'connected' then
    redis.call('HSET', offer, 'state', 'accepted')
    redis.call('EXPIRE', offer, 86400)
    left_status(agent_key, agent)
    redis.call('HSET', agent_key, 'status', 'busy', 'since', NOW, 'missed', 0, 'call', sid, 'role', role)
    local p = cjson.decode(raw)
    p.state = 'ringing'
    redis.call('HSET', parties, agent, cjson.encode(p))
    event('accepted', 'rid', rid, 'call', sid, 'agent', agent, 'role', role)
    publish(agent, {event = 'status', status = 'busy', since = NOW})
    return {3, sid, role, xid}
  end
  redis.call('DEL', offer)
  redis.call('HDEL', parties, agent)
  publish(agent, {event = 'offer_canceled', reservation_id = rid, call_sid = sid, reason = how})
  local out = {4, sid}
  if xid ~= '' and hget(call, 'xfer') == xid then end_transfer(sid, 'failed', how) end
  free_agent(agent, out)
  return out
end
if how == 'accept' then
  redis.call('HSET', offer, 'state', 'accepted')
  redis.call('EXPIRE', offer, 86400)     -- kept a day for audit; only pending offers matter
  redis.call('HSET', call, 'acd', 'connecting', 'agent', agent)
  left_status(agent_key, agent)
  redis.call('HSET', agent_key, 'status', 'busy', 'since', NOW, 'missed', 0, 'call', sid)
  event('accepted', 'rid', rid, 'call', sid, 'agent', agent)
  publish(agent, {event = 'status', status = 'busy', since = NOW})
  return {1, sid}
end
redis.call('DEL', offer)
redis.call('SADD', K('tried:' .. sid), agent)
redis.call('EXPIRE', K('tried:' .. sid), 86400)
redis.call('HSET', K('call:' .. sid), 'tried', 1)
redis.call('HDEL', agent_key, 'offer')
local next_status = 'available'
if how == 'timeout' then
  local missed = redis.call('HINCRBY', agent_key, 'missed', 1)
  redis.call('HINCRBY', agent_key, 'misses', 1)
  count_agent(agent, 'misses')
  if missed >= tonumber(hget(call, 'max_missed') or 3) then next_status = 'break' end
else
  redis.call('HSET', agent_key, 'missed', 0)
end
left_status(agent_key, agent)
redis.call('HSET', agent_key, 'status', next_status, 'since', NOW)
redis.call('HDEL', agent_key, 'reason')
if next_status == 'break' then redis.call('HSET', agent_key, 'reason', 'missed offers') end
if next_status == 'available' and hget(agent_key, 'on_shift') == '1' then
  redis.call('ZADD', K('idle'), NOW, agent)
end
publish(agent, {event = 'offer_canceled', reservation_id = rid, call_sid = sid, reason = how})
publish(agent, {event = 'status', status = next_status, since = NOW,
                reason = next_status == 'break' and 'missed offers' or nil})
event(how == 'timeout' and 'offer_timeout' or 'rejected', 'rid', rid, 'call', sid, 'agent', agent)
wait_in_line(sid)
local made = route({sid}, {agent})
local out = {late and 2 or 1, sid}
for _, x in ipairs(made) do table.insert(out, x) end
return out
