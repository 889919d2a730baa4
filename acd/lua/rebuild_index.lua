-- Rebuild the reqheads index from the waiting lines themselves: every requirement set with callers in
-- its one list (index_list) at the score of its first caller, nothing else. Each worker runs it as it
-- starts: it heals an index written by an older layout (a set in every one of its skills' lists) or
-- left out of step by hand, and changes nothing when the index is right.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5 ..] the reqheads:* keys there are now (found by SCAN in Python: scripts may not search keys)
-- Returns {requirement sets indexed, sets dropped for having no callers}.
--
-- It also brings waiting lines of the layout before 2026-11-30 up to date: scores were seconds then
-- (whole milliseconds now, below 1e11 they are seconds: 1e11 ms is in 1973), and a call someone had
-- rejected or missed carried no `tried` mark (may_take_call asks tried:<sid> only when it is set).
local function bring_up_to_date(reqkey)
  local wait = K('wait:' .. reqkey)
  local line = redis.call('ZRANGEBYSCORE', wait, '-inf', '(1e11', 'WITHSCORES')
  for j = 1, #line, 2 do
    local sid, score = line[j], int(math.floor(tonumber(line[j + 1]) * 1000 + 0.5))
    local call = K('call:' .. sid)
    redis.call('ZADD', wait, score, sid)
    redis.call('HSET', call, 'score', score)
    local queue = hget(call, 'queue')
    if queue then redis.call('ZADD', K('queue:' .. queue), 'XX', score, sid) end
    if redis.call('EXISTS', K('tried:' .. sid)) == 1 then redis.call('HSET', call, 'tried', 1) end
  end
end

for i = 5, #ARGV do redis.call('DEL', ARGV[i]) end
local indexed, dropped = 0, 0
local reqsets = redis.call('HGETALL', K('reqsets'))
for i = 1, #reqsets, 2 do
  bring_up_to_date(reqsets[i])
  if refresh_head(reqsets[i], index_list(cjson.decode(reqsets[i + 1]))) then
    indexed = indexed + 1
  else
    redis.call('HDEL', K('reqsets'), reqsets[i])
    dropped = dropped + 1
  end
end
return {indexed, dropped}
