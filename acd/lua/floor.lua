-- What routing rules read of queues (read only): each queue's waiting callers, longest wait, and the
-- agents who hold its skills, for `queues.<name>` in a rule (contactcenter/rules.py).
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] JSON [[queue name, {skill: level}], ...]
-- Returns, per queue in order, {in line (callback requests included), callback requests, longest wait in ms, available, logged in, staffed,
-- answered today, talk and wrap-up seconds today (text)}. The longest wait is read from the first
-- LONGEST_SCAN callers in line (a priority caller can be ahead of an older one, so it is the head's
-- oldest, not the line's); agents are counted a page at a time from the holders of the rarest skill.
local LONGEST_SCAN = 200
local out = {}
for _, item in ipairs(cjson.decode(ARGV[5])) do
  local name, req = item[1], item[2]
  local line = K('queue:' .. name)
  local waiting, callbacks, longest = redis.call('ZCARD', line), 0, 0
  for _, sid in ipairs(redis.call('ZRANGE', line, 0, LONGEST_SCAN - 1)) do
    local f = redis.call('HMGET', K('call:' .. sid), 'enqueued_at', 'callback')
    if f[2] then
      callbacks = callbacks + 1
    elseif f[1] then
      longest = math.max(longest, NOW - tonumber(f[1]))
    end
  end
  local rarest, size = nil, nil
  for skill, _ in pairs(req) do
    local n = redis.call('ZCARD', K('skill:' .. skill))
    if size == nil or n < size then rarest, size = skill, n end
  end
  local available, logged_in, staffed = 0, 0, 0
  local function tally(agents)
    for _, agent in ipairs(agents) do
      local status = hget(K('agent:' .. agent), 'status')
      if status and status ~= 'offline' and qualifies(agent, req) then
        logged_in = logged_in + 1
        if status == 'available' and redis.call('ZSCORE', K('idle'), agent) then available = available + 1 end
        if status == 'available' or status == 'reserved' or status == 'busy' or status == 'wrapup' then
          staffed = staffed + 1
        end
      end
    end
  end
  if rarest then
    tally(redis.call('ZRANGEBYSCORE', K('skill:' .. rarest), req[rarest], '+inf'))
  else
    tally(redis.call('SMEMBERS', K('agents')))
  end
  local today = redis.call('HMGET', K('stats:queue:' .. name .. ':' .. DAY), 'answered', 'talk_s', 'wrap_s')
  out[#out + 1] = {waiting, callbacks, int(longest * 1000), available, logged_in, staffed,
                   today[1] or '0', today[2] or '0', today[3] or '0'}
end
return out
