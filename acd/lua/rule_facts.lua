-- What routing rules read in Redis (read only), in one call: the caller's other calls and the call's
-- menu choices (`call.calls_today`, `call.repeat_caller`, `call.choices`), and each named queue's
-- waiting callers, longest wait and the agents who hold its skills (`queues.<name>`).
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] call sid   ARGV[6] caller's number ('' : no history read)   ARGV[7] the start of today in the
-- contact center's zone   ARGV[8] the start of the repeat window (epoch s)
-- ARGV[9] JSON [[queue name, {skill: level}], ...]
-- Returns {calls today, calls in the window, {choice...}, {figures of each queue}}: the caller's calls
-- other than this one (store/lua/apply_turn.lua keeps them), the nodes chosen so far at menus (a key,
-- words, or a yes to "Did you want ...?"), and per queue in order {in line (callback requests included),
-- callback requests, longest wait in ms, available, logged in, staffed,
-- answered today, talk and wrap-up seconds today (text)}. The longest wait is read from the first
-- LONGEST_SCAN callers in line (a priority caller can be ahead of an older one, so it is the head's
-- oldest, not the line's); agents are counted among the holders of the rarest skill.
local LONGEST_SCAN = 50
local sid, number = ARGV[5], ARGV[6]
local today, recent, choices = 0, 0, {}
if number ~= '' then
  local calls = K('caller-calls:' .. number)
  local own = tonumber(redis.call('ZSCORE', calls, sid))
  local function others(since)
    local n = redis.call('ZCOUNT', calls, since, '+inf')
    if own and own >= tonumber(since) then n = n - 1 end
    return n
  end
  today, recent = others(ARGV[7]), others(ARGV[8])
  for _, raw in ipairs(redis.call('LRANGE', K('journey:' .. sid), 0, -1)) do
    local ok, step = pcall(cjson.decode, raw)
    if ok and type(step) == 'table' and type(step['next']) == 'string'
        and (step['event'] == 'digits' or step['event'] == 'speech' or step['event'] == 'confirmed') then
      choices[#choices + 1] = step['next']
    end
  end
end
local out = {}
for _, item in ipairs(cjson.decode(ARGV[9])) do
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
  local rarest, size = nil, nil       -- agents: a page of the holders of the rarest skill
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
return {today, recent, choices, out}
