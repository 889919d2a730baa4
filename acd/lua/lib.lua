-- Shared routing functions, prepended to every routing script by acd/scripts.py.
-- Convention for every routing script: KEYS[1] is the workspace's events stream (it carries the
-- {workspace} hash tag, so a Redis Cluster routes the script to the slot of all the keys it builds);
-- ARGV[1] the key prefix "cr:{ws}:", ARGV[2] now (epoch seconds), ARGV[3] the statistics buckets
-- "<day>|<interval>" of now in the workspace's time zone ("20261123|20261123T1500"); the script's own
-- ARGV follow from ARGV[4].
--
-- Layout (see store/keys.py): agent:<id> hash, idle zset (available on-shift agents -> idle since),
-- skill:<s> zset (agent -> level), call:<sid> hash, wait:<reqkey> zset (waiting calls with the same
-- requirements -> score), reqsets hash (reqkey -> requirements JSON), queue:<q> zset (waiting calls
-- of a queue -> score), tried:<sid> set, offer:<rid> hash, timers zset (member -> due time).
-- A call's score is its virtual arrival time: enqueue time minus priority credit, so lower is
-- served first, across all queues.
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local EVENTS = KEYS[1]
local DAY, INTERVAL = string.match(ARGV[3], '^([^|]*)|(.*)$')

local function K(name) return P .. name end

local function hget(key, field)
  local v = redis.call('HGET', key, field)
  if v == false then return nil end
  return v
end

local function event(kind, ...)
  redis.call('XADD', EVENTS, 'MAXLEN', '~', 200000, '*', 'type', kind, 'at', tostring(NOW), ...)
end

local function publish(agent, payload)
  redis.call('PUBLISH', K('agent-events:' .. agent), cjson.encode(payload))
end

-- Counters per queue and day and per 15-minute interval, and per agent and day.
local function count(queue, field, n)
  if queue == nil or queue == '' then return end
  redis.call('HINCRBYFLOAT', K('stats:queue:' .. queue .. ':' .. DAY), field, n or 1)
  redis.call('HINCRBYFLOAT', K('stats:queue:' .. queue .. ':' .. INTERVAL), field, n or 1)
end

-- The longest of something today (and in this interval): kept only when `value` beats it.
local function count_max(queue, field, value)
  if queue == nil or queue == '' then return end
  for _, bucket in ipairs({DAY, INTERVAL}) do
    local key = K('stats:queue:' .. queue .. ':' .. bucket)
    if tonumber(redis.call('HGET', key, field) or '-1') < value then redis.call('HSET', key, field, value) end
  end
end

local function count_agent(agent, field, n)
  redis.call('HINCRBYFLOAT', K('stats:agent:' .. agent .. ':' .. DAY), field, n or 1)
end

local function requirements(sid)
  local raw = hget(K('call:' .. sid), 'req')
  if not raw then return {} end
  return cjson.decode(raw)
end

local function qualifies(agent, req)
  for skill, level in pairs(req) do
    local have = redis.call('ZSCORE', K('skill:' .. skill), agent)
    if not have or tonumber(have) < tonumber(level) then return false end
  end
  return true
end

-- Is any logged-in agent (any status but offline, on shift or not) holding these requirements?
local function anyone_could_serve(req)
  local rarest, size = nil, nil
  for skill, _ in pairs(req) do
    local n = redis.call('ZCARD', K('skill:' .. skill))
    if size == nil or n < size then rarest, size = skill, n end
  end
  local candidates
  if rarest then
    candidates = redis.call('ZRANGEBYSCORE', K('skill:' .. rarest), req[rarest], '+inf')
  else
    candidates = redis.call('SMEMBERS', K('agents'))
  end
  for _, agent in ipairs(candidates) do
    local status = hget(K('agent:' .. agent), 'status')
    if status and status ~= 'offline' and qualifies(agent, req) then return true end
  end
  return false
end

-- May `agent` take `sid` now? (idle and on shift is checked by the caller of this)
local function may_take(agent, sid, req)
  if redis.call('SISMEMBER', K('tried:' .. sid), agent) == 1 then return false end
  local pref = hget(K('call:' .. sid), 'pref_agent')
  if pref and pref ~= agent and tonumber(hget(K('call:' .. sid), 'pref_until') or 0) > NOW then
    return false                       -- last-agent routing: kept for the previous agent a while
  end
  return qualifies(agent, req)
end

-- How good `agent` is for a call under `strategy` (lower is better), ties by longest idle.
local function rank(agent, strategy, req, queue, region, local_first)
  local idle_since = tonumber(redis.call('ZSCORE', K('idle'), agent)) or NOW
  local metric = 0
  if strategy == 'most_skilled' then
    for skill, _ in pairs(req) do
      metric = metric - (tonumber(redis.call('ZSCORE', K('skill:' .. skill), agent)) or 0)
    end
  elseif strategy == 'round_robin' then
    metric = tonumber(redis.call('ZSCORE', K('rr:' .. queue), agent)) or 0
  elseif strategy == 'fewest_calls' then
    metric = tonumber(hget(K('agent:' .. agent), 'calls') or 0)
  elseif strategy == 'least_talk_time' then
    metric = tonumber(hget(K('agent:' .. agent), 'talk_s') or 0)
  end
  local far = 0
  if local_first == '1' and region ~= '' and hget(K('agent:' .. agent), 'country') ~= region then far = 1 end
  return {far, metric, idle_since}
end

local function better(a, b)
  for i = 1, 3 do
    if a[i] ~= b[i] then return a[i] < b[i] end
  end
  return false
end

-- The best idle agent for a waiting call, or nil.
local function pick_agent(sid)
  local call = K('call:' .. sid)
  local req = requirements(sid)
  local strategy = hget(call, 'strategy') or 'longest_idle'
  local queue = hget(call, 'queue') or ''
  local region = hget(call, 'region') or ''
  local local_first = hget(call, 'local_first') or '0'
  local pref = hget(call, 'pref_agent')
  if pref and tonumber(hget(call, 'pref_until') or 0) > NOW then
    if redis.call('ZSCORE', K('idle'), pref) and may_take(pref, sid, req) then return pref end
    return nil
  end
  local best, best_rank = nil, nil
  -- longest idle without locality: the idle set is already in order, stop at the first fit
  local ordered = strategy == 'longest_idle' and local_first ~= '1'
  for _, agent in ipairs(redis.call('ZRANGE', K('idle'), 0, -1)) do
    if may_take(agent, sid, req) then
      if ordered then return agent end
      local r = rank(agent, strategy, req, queue, region, local_first)
      if best == nil or better(r, best_rank) then best, best_rank = agent, r end
    end
  end
  return best
end

-- The best waiting call for a free agent: the lowest score among the requirement sets they meet.
-- reqheads:<skill> orders the requirement sets that need <skill> (reqheads:* those that need none) by
-- the score of their first caller, so the scan visits sets best-first and stops as soon as no set
-- left could hold a better call: the cost follows the agent's skills, not the whole floor.
local function pick_call(agent)
  local best, best_score = nil, nil
  local lists = {'*'}
  for skill, _ in pairs(cjson.decode(hget(K('agent:' .. agent), 'skills') or '{}')) do
    table.insert(lists, skill)
  end
  for _, skill in ipairs(lists) do
    local start, done = 0, false
    while not done do
      local page = redis.call('ZRANGE', K('reqheads:' .. skill), start, start + 31, 'WITHSCORES')
      if #page == 0 then break end
      for j = 1, #page, 2 do
        local reqkey, head = page[j], tonumber(page[j + 1])
        if best_score ~= nil and head >= best_score then done = true; break end
        local req = cjson.decode(hget(K('reqsets'), reqkey) or '{}')
        if qualifies(agent, req) then
          -- the first caller may be one this agent already missed or one kept for another agent
          local calls = redis.call('ZRANGE', K('wait:' .. reqkey), 0, 49, 'WITHSCORES')
          for c = 1, #calls, 2 do
            local score = tonumber(calls[c + 1])
            if best_score ~= nil and score >= best_score then break end
            if may_take(agent, calls[c], req) then
              best, best_score = calls[c], score
              break
            end
          end
        end
      end
      start = start + 32
    end
  end
  return best
end

-- Keep a requirement set's place in reqheads (the score of its first caller) after it changed.
local function refresh_head(reqkey, req)
  local head = redis.call('ZRANGE', K('wait:' .. reqkey), 0, 0, 'WITHSCORES')
  local lists = {}
  for skill, _ in pairs(req) do table.insert(lists, skill) end
  if #lists == 0 then lists = {'*'} end
  for _, skill in ipairs(lists) do
    if head[1] then
      redis.call('ZADD', K('reqheads:' .. skill), head[2], reqkey)
    else
      redis.call('ZREM', K('reqheads:' .. skill), reqkey)
    end
  end
end

-- Take a call out of the waiting sets (it keeps its score for a return to its place).
local function unwait(sid)
  local call = K('call:' .. sid)
  local reqkey = hget(call, 'reqkey')
  if reqkey then
    redis.call('ZREM', K('wait:' .. reqkey), sid)
    refresh_head(reqkey, requirements(sid))
    if redis.call('EXISTS', K('wait:' .. reqkey)) == 0 then redis.call('HDEL', K('reqsets'), reqkey) end
  end
  local queue = hget(call, 'queue')
  if queue then redis.call('ZREM', K('queue:' .. queue), sid) end
end

-- Put a call (back) in line at its score.
local function wait_in_line(sid)
  local call = K('call:' .. sid)
  local score = tonumber(hget(call, 'score'))
  local reqkey = hget(call, 'reqkey')
  redis.call('ZADD', K('wait:' .. reqkey), score, sid)
  redis.call('HSET', K('reqsets'), reqkey, hget(call, 'req'))
  refresh_head(reqkey, requirements(sid))
  redis.call('ZADD', K('queue:' .. hget(call, 'queue')), score, sid)
  redis.call('HSET', call, 'acd', 'waiting')
  redis.call('HDEL', call, 'offer')
end

-- Reserve `agent` for `sid`: one offer, one id, one deadline. Returns the reservation id.
local function make_offer(sid, agent)
  local call = K('call:' .. sid)
  local rid = 'WR' .. redis.call('INCR', K('offer-seq'))
  local timeout = tonumber(hget(call, 'offer_timeout') or 15)
  local deadline = NOW + timeout
  local queue = hget(call, 'queue') or ''
  unwait(sid)
  redis.call('HSET', K('offer:' .. rid), 'call', sid, 'agent', agent, 'queue', queue, 'created', NOW,
             'deadline', deadline, 'state', 'pending')
  redis.call('HSET', call, 'acd', 'offered', 'offer', rid)
  if not hget(call, 'offered_at') then redis.call('HSET', call, 'offered_at', NOW) end
  redis.call('HSET', K('agent:' .. agent), 'status', 'reserved', 'since', NOW, 'offer', rid)
  redis.call('HINCRBY', K('agent:' .. agent), 'offers', 1)
  count_agent(agent, 'offers')
  redis.call('ZREM', K('idle'), agent)
  redis.call('ZADD', K('timers'), deadline, 'offer:' .. rid)
  if queue ~= '' then redis.call('ZADD', K('rr:' .. queue), NOW, agent) end
  event('offer', 'rid', rid, 'call', sid, 'agent', agent, 'queue', queue)
  publish(agent, {event = 'offer', reservation_id = rid, call_sid = sid, queue = queue, expires_at = deadline,
                  callback = hget(call, 'callback') ~= nil})
  return rid
end

-- Route until nothing more matches: each call in `sids` looks for an agent, each agent in
-- `agents` for a call. Returns the offers made as {rid, sid, agent, ...}.
local function route(sids, agents)
  local made = {}
  local function offer(sid, agent)
    if sid and agent then
      local rid = make_offer(sid, agent)
      table.insert(made, rid); table.insert(made, sid); table.insert(made, agent)
    end
  end
  for _, sid in ipairs(sids) do
    if hget(K('call:' .. sid), 'acd') == 'waiting' then offer(sid, pick_agent(sid)) end
  end
  for _, agent in ipairs(agents) do
    if redis.call('ZSCORE', K('idle'), agent) then offer(pick_call(agent), agent) end
  end
  return made
end

-- The agent's leg ended after talking: count talk time once, put the agent in wrap-up.
local function end_talk(sid)
  local call = K('call:' .. sid)
  local agent = hget(call, 'agent')
  if not agent or hget(call, 'talk_counted') or not hget(call, 'answered_at') then return 0 end
  local talk = NOW - tonumber(hget(call, 'answered_at'))
  redis.call('HSET', call, 'talk_counted', 1, 'talk_s', talk, 'acd', 'ended')
  count(hget(call, 'queue'), 'talk_s', talk)
  redis.call('HINCRBYFLOAT', K('agent:' .. agent), 'talk_s', talk)
  count_agent(agent, 'talk_s', talk)
  local agent_key = K('agent:' .. agent)
  if hget(agent_key, 'call') == sid and hget(agent_key, 'status') == 'busy' then
    redis.call('HSET', agent_key, 'status', 'wrapup', 'since', NOW)
    redis.call('ZADD', K('timers'), NOW + tonumber(hget(call, 'wrapup_s') or 30), 'wrapup:' .. agent .. ':' .. sid)
    publish(agent, {event = 'ended', call_sid = sid})
    publish(agent, {event = 'status', status = 'wrapup', since = NOW})
  end
  event('talk_ended', 'call', sid, 'agent', agent, 'talk_s', talk)
  return 1
end

-- Free an agent who was held for a call that never connected; route them again.
local function free_agent(agent, out)
  local agent_key = K('agent:' .. agent)
  redis.call('HDEL', agent_key, 'offer', 'call')
  local next_status = hget(agent_key, 'after_wrapup') or 'available'
  redis.call('HSET', agent_key, 'status', next_status, 'since', NOW)
  redis.call('HDEL', agent_key, 'after_wrapup')
  publish(agent, {event = 'status', status = next_status, since = NOW})
  if next_status == 'available' and hget(agent_key, 'on_shift') == '1' then
    redis.call('ZADD', K('idle'), NOW, agent)
    for _, x in ipairs(route({}, {agent})) do table.insert(out, x) end
  end
end
