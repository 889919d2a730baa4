-- Keep what one IVR turn did: append journey steps, set call fields, refresh retention.
-- KEYS[1] call hash   KEYS[2] journey list   KEYS[3] open calls (zset: a new call joins it)
-- KEYS[4] the caller's recent calls (zset: a new call joins it; calls older than CALLER_KEEP_S go)
-- ARGV[1] live ttl s   ARGV[2] '1': the call must exist already (else nothing is written)
-- ARGV[3] the node the request answers ('' any): a call elsewhere makes the request stale
-- ARGV[4] the request's turn token ('' none): kept as `turn`, so that the ACD's hand-over in the same
--   round trip (enqueue_call.lua) can tell this request's turn from a stale copy's
-- ARGV[5] call sid   ARGV[6] now (epoch s)
-- ARGV[7] number of journey steps n   ARGV[8..7+n] steps (JSON)
-- ARGV[8+n] number of fields m that only a new call takes   ARGV[9+n..8+n+2m] those field, value pairs
-- the rest: field, value pairs for the call hash
-- One round trip per webhook: a new call is created by its first turn (Twilio may retry
-- /voice/incoming: the call's own fields are then kept). An ended call keeps its (shorter) ended
-- retention: late callbacks must not revive it. Returns 1 when the call was new, 0 when it
-- existed, -1 when it had to exist and did not (the caller's step then restarts the flow), -2 when
-- the call is no longer at the node the request answers (a repeated or late menu answer: Twilio
-- moved on long ago) and nothing was written.
local CALLER_KEEP_S = 8 * 86400     -- store/callstate.py CALLER_KEEP_S: a week of calls, and a day to spare
local n = tonumber(ARGV[7])
local m = tonumber(ARGV[8 + n])
local new = redis.call('EXISTS', KEYS[1]) == 0
if new and ARGV[2] == '1' then return -1 end
if not new and ARGV[3] ~= '' then
  local at = redis.call('HGET', KEYS[1], 'node')
  if at and at ~= ARGV[3] then return -2 end
end
if new and m > 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 9 + n, 8 + n + 2 * m))
  redis.call('DEL', KEYS[2])
  redis.call('ZADD', KEYS[3], 'NX', ARGV[6], ARGV[5])
  redis.call('ZADD', KEYS[4], 'NX', ARGV[6], ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', tonumber(ARGV[6]) - CALLER_KEEP_S)
  redis.call('EXPIRE', KEYS[4], CALLER_KEEP_S)
end
if n > 0 then
  redis.call('RPUSH', KEYS[2], unpack(ARGV, 8, 7 + n))
end
if #ARGV > 8 + n + 2 * m then
  redis.call('HSET', KEYS[1], unpack(ARGV, 9 + n + 2 * m, #ARGV))
end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'turn', ARGV[4]) end
if redis.call('HEXISTS', KEYS[1], 'ended_at') == 1 then
  redis.call('HSET', KEYS[1], 'status', 'ended')
  if redis.call('TTL', KEYS[2]) < 0 then redis.call('EXPIRE', KEYS[2], redis.call('TTL', KEYS[1])) end
else
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
if new then return 1 end
return 0
