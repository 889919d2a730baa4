-- An agent (or admin) sets available, break or offline.
-- KEYS[1] agent hash   KEYS[2] idle zset   KEYS[3] events stream
-- ARGV[1] agent id   ARGV[2] wanted status   ARGV[3] now (epoch s)   ARGV[4] agent's pub/sub channel
-- Returns {code, status}: 404 unknown agent; 409 while reserved or busy (the offer or call decides);
-- during wrap-up, break/offline are kept for when it ends and available ends it now.
local id, wanted, now = ARGV[1], ARGV[2], ARGV[3]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  return {404, 'unknown'}
end
if status == 'reserved' or status == 'busy' then
  return {409, status}
end
if status == 'wrapup' and wanted ~= 'available' then
  redis.call('HSET', KEYS[1], 'after_wrapup', wanted)
  return {200, status}
end
if status ~= wanted then
  redis.call('HSET', KEYS[1], 'status', wanted, 'since', now)
  redis.call('HDEL', KEYS[1], 'after_wrapup')
  if wanted ~= 'break' then
    redis.call('HSET', KEYS[1], 'missed', 0)   -- a fresh start after a break for misses
  end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'type', 'agent_status', 'agent', id,
             'from', status, 'to', wanted, 'at', now)
  redis.call('PUBLISH', ARGV[4], cjson.encode({event = 'status', status = wanted, since = tonumber(now)}))
end
if wanted == 'available' and redis.call('HGET', KEYS[1], 'on_shift') == '1' then
  redis.call('ZADD', KEYS[2], 'NX', now, id)
else
  redis.call('ZREM', KEYS[2], id)
end
return {200, wanted}
