-- An agent (or admin) sets available, break or offline; available routes them at once.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] agent id   ARGV[6] wanted status   ARGV[7] who asked, when not the agent ('' the agent)
-- ARGV[8] the break's reason ('' none; only with break): a new reason while on break starts a new break
-- Returns {code, status, offers made...}: 404 unknown agent; 409 while reserved or busy (the offer or
-- the call decides); during wrap-up, break/offline are kept for when it ends and available ends it now.
local id, wanted, by, reason = ARGV[5], ARGV[6], ARGV[7] or '', ARGV[8] or ''
local agent = K('agent:' .. id)
local status = hget(agent, 'status')
if not status then return {404, 'unknown'} end
if status == 'reserved' or status == 'busy' then return {409, status} end
if status == 'wrapup' and wanted ~= 'available' then
  redis.call('HSET', agent, 'after_wrapup', wanted, 'after_reason', reason)
  return {200, status}
end
if status == 'wrapup' then
  local sid = hget(agent, 'call')
  if sid then redis.call('ZREM', K('timers'), 'wrapup:' .. id .. ':' .. sid) end
  redis.call('HDEL', agent, 'call')
end
if status ~= wanted or (wanted == 'break' and (hget(agent, 'reason') or '') ~= reason) then
  left_status(agent, id)
  redis.call('HSET', agent, 'status', wanted, 'since', NOW)
  redis.call('HDEL', agent, 'after_wrapup', 'after_reason', 'reason')
  if wanted == 'break' and reason ~= '' then redis.call('HSET', agent, 'reason', reason) end
  if wanted ~= 'break' then redis.call('HSET', agent, 'missed', 0) end
  redis.call('XADD', EVENTS, 'MAXLEN', '~', 200000, '*', 'type', 'agent_status', 'agent', id,
             'from', status, 'to', wanted, 'at', tostring(NOW), 'by', by, 'reason', reason)
  publish(id, {event = 'status', status = wanted, since = NOW, by = by ~= '' and by or nil,
               reason = reason ~= '' and reason or nil})
end
local out = {200, wanted}
if wanted == 'available' and hget(agent, 'on_shift') == '1' then
  redis.call('ZADD', K('idle'), 'NX', NOW, id)
  for _, x in ipairs(route({}, {id})) do table.insert(out, x) end
else
  redis.call('ZREM', K('idle'), id)
end
return out
