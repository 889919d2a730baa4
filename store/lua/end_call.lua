-- A call ended (terminal status callback). Idempotent: Twilio repeats and reorders callbacks.
-- KEYS[1] call hash   KEYS[2] journey list   KEYS[3] today's IVR counters   KEYS[4] records outbox
-- (zset: the call joins it in this same step, due at ARGV[5], and leaves it once SQL has its record)
-- KEYS[5] open calls (zset: the call leaves it, whatever else this step finds)
-- ARGV[1] ended_at (epoch s)   ARGV[2] Twilio CallStatus   ARGV[3] CallDuration or ''
-- ARGV[4] ttl seconds to keep the ended call for late callbacks (transcriptions)
-- ARGV[5] when the sweeper may write the record if the record job has not (epoch s)   ARGV[6] call sid
-- Returns the outcome when this callback ended the call, false when unknown or already ended.
redis.call('ZREM', KEYS[5], ARGV[6])
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'ended_at') == 1 then
  return false
end
local outcome = redis.call('HGET', KEYS[1], 'outcome')
if not outcome then
  local status = redis.call('HGET', KEYS[1], 'status')
  -- In line only if the ACD took them. A menu answer that crossed the hang-up may have set `queued`
  -- after the caller was gone, and the ACD refused it: they hung up in the IVR, and the record and
  -- the reports must not say they queued.
  if status == 'queued' and redis.call('HEXISTS', KEYS[1], 'acd') == 0 then
    redis.call('HDEL', KEYS[1], 'queue', 'enqueued_at')
    status = 'ivr'
  end
  if status == 'queued' then
    outcome = 'abandoned'
  elseif ARGV[2] == 'busy' or ARGV[2] == 'failed' or ARGV[2] == 'no-answer' or ARGV[2] == 'canceled' then
    outcome = 'failed'
  else
    outcome = 'ivr_hangup'
  end
end
redis.call('HSET', KEYS[1], 'ended_at', ARGV[1], 'call_status', ARGV[2], 'outcome', outcome, 'status', 'ended')
redis.call('HSETNX', KEYS[1], 'gone', ARGV[1])
if redis.call('HEXISTS', KEYS[1], 'queue') == 0 then
  redis.call('HINCRBY', KEYS[3], 'self_service', 1)    -- ended in the IVR without queueing
  redis.call('EXPIRE', KEYS[3], 40 * 86400)
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'duration_s', ARGV[3])
end
redis.call('RPUSH', KEYS[2], cjson.encode({event = 'ended', status = ARGV[2], outcome = outcome, at = tonumber(ARGV[1])}))
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[4], 'NX', ARGV[5], ARGV[6])
return outcome
