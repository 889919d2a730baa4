-- Callers whom nobody logged in could serve any more (the last agent who could logged out or lost a
-- skill) leave their queue for its overflow node, as they would have on arriving: no caller holds
-- for an empty room. The ticker runs this every second.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- Returns the sids of the calls that left; the service sends each to its queue's overflow node.
-- Callback requests stay in line (nobody is holding; the customer is called once someone can serve),
-- and so do callers whom a later escalation step would let a logged-in agent serve.
local left = {}
local reqsets = redis.call('HGETALL', K('reqsets'))
for i = 1, #reqsets, 2 do
  local reqkey = reqsets[i]
  if not anyone_could_serve(cjson.decode(reqsets[i + 1])) then
    for _, sid in ipairs(redis.call('ZRANGE', K('wait:' .. reqkey), 0, -1)) do
      local call = K('call:' .. sid)
      local f = redis.call('HMGET', call, 'callback', 'ladder', 'queue', 'acd')
      local later = false
      for _, step in ipairs(cjson.decode(f[2] or '[]')) do
        later = later or anyone_could_serve(step)
      end
      if not f[1] and not later and f[4] == 'waiting' then
        unwait(sid)
        redis.call('HSET', call, 'acd', 'left', 'outcome', 'overflowed')
        count(f[3] or '', 'overflowed')
        event('left_queue', 'call', sid, 'queue', f[3] or '', 'outcome', 'overflowed', 'reason', 'nobody')
        table.insert(left, sid)
      end
    end
  end
end
return left
