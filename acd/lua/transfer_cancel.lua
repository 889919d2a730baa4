-- A warm transfer is called off before it completes: the consulted agent (asked or on the line) is
-- free at once, the first agent stays with the caller.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] transfer id   ARGV[6] agent asking ('' = a supervisor)
-- Returns {1, call sid, target agent ('' for a number), offers made...}, or {0, why}: 'unknown', 'over',
-- 'not_yours'.
local xid, by = ARGV[5], ARGV[6]
local t, sid = live_transfer(xid, by)
if not t then return {0, sid} end
local target = hget(t, 'agent') or ''
local out = {1, sid, target}
end_transfer(sid, 'canceled', 'canceled')
local parties = K('parties:' .. sid)
local raw = target ~= '' and hget(parties, target)
if raw then
  redis.call('HDEL', parties, target)
  local agent_key = K('agent:' .. target)
  if hget(agent_key, 'call') == sid then
    local status = hget(agent_key, 'status')
    if status == 'reserved' then
      local rid = hget(agent_key, 'offer')
      redis.call('DEL', K('offer:' .. rid))
      redis.call('ZREM', K('timers'), 'offer:' .. rid)
      publish(target, {event = 'offer_canceled', reservation_id = rid, call_sid = sid, reason = 'transfer_canceled'})
    else
      local p = cjson.decode(raw)
      if p.joined_at then segment(sid, {kind = 'consult', agent = target, from = p.joined_at, to = NOW}) end
      publish(target, {event = 'party_left', call_sid = sid, party = p})
    end
    if status == 'reserved' or status == 'busy' then free_agent(target, out) end
  end
end
return out
