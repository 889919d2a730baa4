-- Claim the timers that are due, so that each is handled by one of several tickers at a time.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce   ARGV[5] at most
-- ARGV[6] lease, seconds
-- A claimed timer is not removed but leased: due again at now + lease, it goes once its ticker has
-- handled it (ack_timers.lua). So a worker killed between claiming and handling (SIGKILL, OOM, a lost
-- machine) loses no timer: another ticker takes it when the lease runs out. A timer handled twice (its
-- ticker died before the ack, or took longer than the lease) changes nothing the second time: each
-- script it runs checks the state first (an offer no longer pending, a caller no longer waiting, an
-- agent no longer wrapping up that call).
-- Returns the claimed members ("offer:<rid>", "wrapup:<agent>:<sid>", "escalate:<sid>:<step>", ...).
local due = redis.call('ZRANGEBYSCORE', K('timers'), '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[5]))
-- as text with whole milliseconds, which ack_timers.lua computes alike from the same arguments
local leased = string.format('%.3f', NOW + tonumber(ARGV[6]))
for _, member in ipairs(due) do redis.call('ZADD', K('timers'), 'XX', leased, member) end
return due
