-- Rebuild the reqheads index from the waiting lines themselves: every requirement set with callers in
-- its one list (index_list) at the score of its first caller, nothing else. Each worker runs it as it
-- starts: it heals an index written by an older layout (a set in every one of its skills' lists) or
-- left out of step by hand, and changes nothing when the index is right.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets
-- ARGV[4 ..] the reqheads:* keys there are now (found by SCAN in Python: scripts may not search keys)
-- Returns {requirement sets indexed, sets dropped for having no callers}.
for i = 4, #ARGV do redis.call('DEL', ARGV[i]) end
local indexed, dropped = 0, 0
local reqsets = redis.call('HGETALL', K('reqsets'))
for i = 1, #reqsets, 2 do
  if refresh_head(reqsets[i], cjson.decode(reqsets[i + 1])) then
    indexed = indexed + 1
  else
    redis.call('HDEL', K('reqsets'), reqsets[i])
    dropped = dropped + 1
  end
end
return {indexed, dropped}
