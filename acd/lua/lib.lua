-- Long because every helper the routing scripts share must be in this one file: Redis Lua has no
-- require, and acd/scripts.py loads it once as the function library (Redis 7+) or prepends it to every
-- script (EVALSHA). Read it by section: per-call values and small helpers, counters, matching an agent
-- to a call (pick_agent, pick_call), the routing index (reqheads), offers and routing, the end of a call.
-- Shared routing functions, prepended to every routing script by acd/scripts.py.
-- Convention for every routing script: KEYS[1] is the workspace's events stream (it carries the
-- {workspace} hash tag, so a Redis Cluster routes the script to the slot of all the keys it builds);
-- ARGV[1] the key prefix "cr:{ws}:", ARGV[2] now (epoch seconds), ARGV[3] the statistics buckets
-- "<day>|<interval>" of now in the workspace's time zone ("20261123|20261123T1500"), ARGV[4] a nonce, 32
-- random hex digits from the caller's secrets module, that the script's reservation ids are made from
-- (Lua's math.random is no secret source); the script's own ARGV follow from ARGV[5].
--
-- Layout (see store/keys.py): agent:<id> hash, idle zset (available on-shift agents -> idle since),
-- skill:<s> zset (agent -> level), call:<sid> hash, wait:<reqkey> zset (waiting calls with the same
-- requirements -> score), reqsets hash (reqkey -> requirements JSON), reqheads:<skill> zset (the
-- requirement sets whose most demanding skill is <skill> -> score of their first caller; reqheads:*
-- those that need none), queue:<q> zset (waiting calls of a queue -> score), tried:<sid> set,
-- offer:<rid> hash, timers zset (member -> due time).
-- A call's score is its virtual arrival time in whole epoch milliseconds: enqueue time minus priority
-- credit, so lower is served first, across all queues. (Whole numbers: Redis keeps them as integers in
-- small sorted sets and compares them without parsing text, which makes reqheads cheap to page.)
--
-- This file is made once and serves many calls when the scripts are a function library (Redis 7+:
-- see acd/scripts.py), so its top level only defines: it reads no global (the library loads where
-- none is there) and leaves what depends on the call to begin(), which every script calls first.
local P, NOW, EVENTS, DAY, INTERVAL, NOW_TEXT, NONCE

local function begin(keys, argv)
  P, NOW, EVENTS, NONCE = argv[1], tonumber(argv[2]), keys[1], argv[4]
  DAY, INTERVAL = string.match(argv[3], '^([^|]*)|(.*)$')
  NOW_TEXT = tostring(NOW)
end

-- Indexes passed to redis.call as text: Redis would format a number argument as a double ("%.17g"),
-- which costs more than "%d" and writes the same digits for an integer.
local function int(n) return string.format('%d', n) end

local function K(name) return P .. name end

-- An accept this long after an offer's deadline is too late (clocks of the web and worker boxes may
-- differ a little; the timer itself fires within a quarter second of the deadline).
local ACCEPT_GRACE_S = 1

local function hget(key, field)
  local v = redis.call('HGET', key, field)
  if v == false then return nil end
  return v
end

local function event(kind, ...)
  redis.call('XADD', EVENTS, 'MAXLEN', '~', '200000', '*', 'type', kind, 'at', NOW_TEXT, ...)
end

local function publish(agent, payload)
  redis.call('PUBLISH', P .. 'agent-events:' .. agent, cjson.encode(payload))
end

-- Counters per queue and day and per 15-minute interval, and per agent and day. A count (no n) goes
-- up by one with HINCRBY: HINCRBYFLOAT writes its result as a long double, which costs Redis more
-- than the rest of the command. (So a field is either a count or an amount, never both.)
local function count(queue, field, n)
  if queue == nil or queue == '' then return end
  local how, by = 'HINCRBY', '1'
  if n then how, by = 'HINCRBYFLOAT', n end
  redis.call(how, K('stats:queue:' .. queue .. ':' .. DAY), field, by)
  redis.call(how, K('stats:queue:' .. queue .. ':' .. INTERVAL), field, by)
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
  if n then
    redis.call('HINCRBYFLOAT', P .. 'stats:agent:' .. agent .. ':' .. DAY, field, n)
  else
    redis.call('HINCRBY', P .. 'stats:agent:' .. agent .. ':' .. DAY, field, '1')
  end
end

-- Time in the status an agent is leaving, per day (`s_<status>` seconds): what occupancy is made of.
-- Called just before every status change; status and since as the caller read them, if it did.
local function left_status(agent_key, agent, status, since)
  if status == nil then
    local f = redis.call('HMGET', agent_key, 'status', 'since')
    status, since = f[1], f[2]
  end
  if status and since then
    count_agent(agent, 's_' .. status, NOW - tonumber(since))
    local reason = status == 'break' and hget(agent_key, 'reason')
    if reason then count_agent(agent, 's_break:' .. reason, NOW - tonumber(since)) end
  end
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
-- Candidates come a page at a time: most agents who hold a skill are logged in, so the first page
-- answers, however many hold it (a read of all of them cost every enqueue milliseconds).
local function anyone_could_serve(req)
  local rarest, size = nil, nil
  for skill, _ in pairs(req) do
    local n = redis.call('ZCARD', K('skill:' .. skill))
    if size == nil or n < size then rarest, size = skill, n end
  end
  local function any_of(candidates)
    for _, agent in ipairs(candidates) do
      local status = hget(K('agent:' .. agent), 'status')
      if status and status ~= 'offline' and qualifies(agent, req) then return true end
    end
    return false
  end
  if rarest then
    local start = 0
    while true do
      local page = redis.call('ZRANGEBYSCORE', K('skill:' .. rarest), req[rarest], '+inf', 'LIMIT', int(start), '32')
      if any_of(page) then return true end
      if #page < 32 then return false end
      start = start + 32
    end
  end
  local cursor = '0'
  repeat
    local scan = redis.call('SSCAN', K('agents'), cursor, 'COUNT', '64')
    if any_of(scan[2]) then return true end
    cursor = scan[1]
  until cursor == '0'
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

-- The call fields make_offer needs, read in one HMGET: [1] offer_timeout [2] queue [3] offered_at
-- [4] callback [5] pref_agent [6] pref_until [7] strategy [8] tried [9] reqkey [10] req. pick_call
-- knows the call's requirement set and its reqheads list already, so may_take_call reads the first 8:
-- each field asked of a small hash costs Redis a walk through it, the whole hash for a missing one.
local OFFER_FIELDS = {'offer_timeout', 'queue', 'offered_at', 'callback', 'pref_agent', 'pref_until',
                      'strategy', 'tried', 'reqkey', 'req'}

-- may_take for a call of a requirement set the agent is already known to meet. Returns the call's
-- fields make_offer needs when the agent may take it (false = missing field), else nil: one read.
local function may_take_call(agent, sid)
  local f = redis.call('HMGET', P .. 'call:' .. sid, unpack(OFFER_FIELDS, 1, 8))
  if f[5] and f[5] ~= agent and tonumber(f[6] or 0) > NOW then return nil end
  -- `tried` marks a call someone rejected or missed: only then is there a tried:<sid> set to ask
  if f[8] and redis.call('SISMEMBER', P .. 'tried:' .. sid, agent) == 1 then return nil end
  return f
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

-- Does an agent holding `held` (skill -> level) meet the requirement set named `reqkey`
-- ("billing=3,lang_es=2"; "*" for none: see reqkey in acd/queueing.py)? Read off the name skill by
-- skill, stopping at the first one missed: skill names are letters, digits, '_' and '-', so the name
-- needs no lookup, and plain finds cost less than a pattern.
local function meets_reqkey(held, reqkey)
  local find, sub = string.find, string.sub
  if reqkey == '*' then return true end
  local from = 1
  while true do
    local eq = find(reqkey, '=', from, true)
    local comma = find(reqkey, ',', eq, true)
    local have = held[sub(reqkey, from, eq - 1)]
    if not have or have < tonumber(sub(reqkey, eq + 1, comma and comma - 1)) then return false end
    if not comma then return true end
    from = comma + 1
  end
end

-- The best waiting call for a free agent: the lowest score among the requirement sets they meet.
-- reqheads:<skill> orders requirement sets that need <skill> (each set is in one list: see
-- index_list; reqheads:* holds those that need none) by the score of their first caller, so the
-- cost follows the agent's skills, not the whole floor. pick_call alternates two steps until nothing
-- can beat the best caller found: next_set finds the set whose first caller comes first among the
-- sets this agent meets and has not weighed yet; first_caller walks that set's line for a caller this
-- agent may take (the first caller may be kept for another agent or have been missed by this one).
-- Once a caller is found, both steps ask Redis only for scores below theirs.

-- The set, among the agent's reqheads lists, whose first caller comes first of the sets that an agent
-- holding `held` meets and whose callers were not weighed yet; below `bound` ('(' .. a score, as Redis
-- wrote it) when given. Returns the set, its list and '(' .. its score, the new bound; nothing when no
-- set is left. In each list the first such set is the best of that list, and once one is found the
-- other lists are asked only for sets that beat it, so most answer nothing. meets caches meets_reqkey
-- across lists and passes. A list comes a page at a time (4, then doubling up to 64): the first page
-- most often answers. Pages come without scores: only the set found has its score asked for, as
-- formatting scores costs Redis more than finding the members.
local function next_set(lists, held, meets, weighed, bound)
  local set, list
  for _, key in ipairs(lists) do
    local start, size = 0, 4
    while true do
      local page
      -- (the first page, most often the only one, is spelled out: it needs no int())
      if start == 0 and bound then
        page = redis.call('ZRANGEBYSCORE', key, '-inf', bound, 'LIMIT', '0', '4')
      elseif start == 0 then
        page = redis.call('ZRANGE', key, '0', '3')
      elseif bound then
        page = redis.call('ZRANGEBYSCORE', key, '-inf', bound, 'LIMIT', int(start), int(size))
      else
        page = redis.call('ZRANGE', key, int(start), int(start + size - 1))
      end
      local hit = false
      for _, reqkey in ipairs(page) do
        local ok = meets[reqkey]
        if ok == nil then
          ok = meets_reqkey(held, reqkey)
          meets[reqkey] = ok
        end
        if ok and not weighed[reqkey] then
          set, list, bound, hit = reqkey, key, '(' .. redis.call('ZSCORE', key, reqkey), true
          break
        end
      end
      if hit or #page < size then break end
      start = start + size
      size = math.min(size * 2, 64)
    end
  end
  return set, list, bound
end

-- The first caller in the line of requirement set `set` (its first 50) whom `agent` may take, better
-- than `below` ('(' .. the best score so far) when given: the call, its fields (see may_take_call),
-- '(' .. its score, and what the set's head becomes without it, when this read tells (see
-- unwait_read: true when the call is not the line's first, else the next caller's score, false when
-- none is left, nil when a bounded read cannot tell). Nothing when no caller qualifies.
local function first_caller(agent, set, below)
  local wait, first, n = P .. 'wait:' .. set, 0, 2
  while first < 50 do
    local calls
    if below then
      calls = redis.call('ZRANGEBYSCORE', wait, '-inf', below, 'WITHSCORES', 'LIMIT', int(first), int(n))
    elseif first == 0 then
      calls = redis.call('ZRANGE', wait, '0', '1', 'WITHSCORES')
    else
      calls = redis.call('ZRANGE', wait, int(first), int(first + n - 1), 'WITHSCORES')
    end
    for c = 1, #calls, 2 do
      local f = may_take_call(agent, calls[c])
      if f then
        local head
        if c > 1 or first > 0 then head = true
        elseif calls[c + 2] then head = calls[c + 3]
        elseif not below then head = false end
        return calls[c], f, '(' .. calls[c + 1], head
      end
    end
    if #calls < 2 * n then return nil end
    first = first + n
    n = 50 - first
  end
end

-- pick_call(agent): nil when the agent is not idle or no caller fits, else what make_offer needs so
-- that nothing is read twice: {sid, fields (OFFER_FIELDS but the last two), me (the agent's
-- {skills, offers, status, since, on_shift}), head (see first_caller), set and list (the call's
-- requirement set and its reqheads list)}.
local function pick_call(agent)
  local me = redis.call('HMGET', P .. 'agent:' .. agent, 'skills', 'offers', 'status', 'since', 'on_shift')
  -- idle (in the idle set) is exactly available and on shift: the same answer without a read of the set
  if me[3] ~= 'available' or me[5] ~= '1' then return nil end
  local held = cjson.decode(me[1] or '{}')
  local lists = {P .. 'reqheads:*'}
  for skill, _ in pairs(held) do lists[#lists + 1] = P .. 'reqheads:' .. skill end
  local meets, weighed = {}, {}               -- reqkey -> the agent meets it; sets whose callers were weighed
  local best, fields, below, head, best_set, best_list   -- the best caller so far; below: '(' .. their score
  while true do
    local set, list, bound = next_set(lists, held, meets, weighed, below)
    if not set then break end
    weighed[set] = true
    local sid, f, score, h = first_caller(agent, set, below)
    if sid then
      best, fields, below, head, best_set, best_list = sid, f, score, h, set, list
      -- nobody can beat the first caller (h ~= true) of the set whose first caller comes first of
      -- all: stop, when the line agrees with reqheads (score == bound); an index out of step is read
      -- again rather than trusted
      if h ~= true and score == bound then break end
    end
  end
  if best then return {sid = best, fields = fields, me = me, head = head, set = best_set, list = best_list} end
end

-- The one reqheads list a requirement set is indexed in: its skill of the highest level (ties: the
-- first by name), '*' when it needs none. One list is enough, as an agent who meets the set holds that
-- skill and reads that list; the most demanding skill keeps the set out of the lists of agents who
-- hold only its easy skills and could not take it anyway.
local function index_list(req)
  local best, level = nil, -1
  for skill, l in pairs(req) do
    l = tonumber(l)
    if l > level or (l == level and skill < best) then best, level = skill, l end
  end
  return P .. 'reqheads:' .. (best or '*')
end

-- Keep a requirement set's place in its reqheads list (index_list: the score of its first caller)
-- after it changed. Returns whether the set still has callers.
local function refresh_head(reqkey, list)
  local head = redis.call('ZRANGE', P .. 'wait:' .. reqkey, '0', '0', 'WITHSCORES')
  if head[1] then
    redis.call('ZADD', list, head[2], reqkey)
  else
    redis.call('ZREM', list, reqkey)
  end
  return head[1] ~= nil
end

-- unwait of a call whose reqkey, req (JSON) and queue fields were read already (false: missing).
-- head, when the caller knows it: the score of the set's first caller once this call is gone, false
-- when none is left, true when this call was not the first (the set keeps its place); list, when the
-- caller knows it: the set's reqheads list, else found from req.
local function unwait_read(sid, reqkey, req, queue, head, list)
  if reqkey then
    redis.call('ZREM', P .. 'wait:' .. reqkey, sid)
    list = list or index_list(req and cjson.decode(req) or {})
    if head == nil then
      -- an empty sorted set does not exist: no callers left means no set left
      if not refresh_head(reqkey, list) then redis.call('HDEL', P .. 'reqsets', reqkey) end
    elseif head == false then
      redis.call('ZREM', list, reqkey)
      redis.call('HDEL', P .. 'reqsets', reqkey)
    elseif head ~= true then
      redis.call('ZADD', list, head, reqkey)
    end
  end
  if queue then redis.call('ZREM', P .. 'queue:' .. queue, sid) end
end

-- Take a call out of the waiting sets (it keeps its score for a return to its place).
local function unwait(sid)
  local f = redis.call('HMGET', K('call:' .. sid), 'reqkey', 'req', 'queue')
  unwait_read(sid, f[1], f[2], f[3])
end

-- Put a call (back) in line at its score.
local function wait_in_line(sid)
  local call = K('call:' .. sid)
  local f = redis.call('HMGET', call, 'score', 'reqkey', 'req', 'queue')
  local score, reqkey, req = tonumber(f[1]), f[2], f[3]
  if score < 1e11 then score = math.floor(score * 1000 + 0.5) end   -- scored in seconds (see rebuild_index.lua)
  redis.call('ZADD', K('wait:' .. reqkey), score, sid)
  redis.call('HSET', K('reqsets'), reqkey, req)
  refresh_head(reqkey, index_list(req and cjson.decode(req) or {}))
  redis.call('ZADD', K('queue:' .. f[4]), score, sid)
  redis.call('HSET', call, 'acd', 'waiting')
  redis.call('HDEL', call, 'offer')
end

-- A reservation id nobody can guess: "WR" and 32 hex digits of the SHA-1 of the script's secret nonce and
-- a counter (unique however many offers one script makes, and across scripts should a nonce repeat).
local function new_rid()
  if not NONCE or #NONCE < 32 then error('routing scripts need a nonce of 32 hex digits as ARGV[4]') end
  return 'WR' .. string.sub(redis.sha1hex(NONCE .. ':' .. redis.call('INCR', P .. 'offer-seq')), 1, 32)
end

-- Reserve `agent` for `sid`: one offer, one id, one deadline. Returns the reservation id.
-- What pick_call read, when it did, so that nothing is read twice: f, the call's OFFER_FIELDS but the
-- last two; me, the agent's {skills, offers, status, since}; head, reqkey and list: see unwait_read.
local function make_offer(sid, agent, f, me, head, reqkey, list)
  local call = P .. 'call:' .. sid
  local req
  if not f then
    f = redis.call('HMGET', call, unpack(OFFER_FIELDS))
    reqkey, req = f[9], f[10]
  end
  local rid = new_rid()
  local deadline = NOW + tonumber(f[1] or 15)
  local deadline_text = tostring(deadline)
  local queue = f[2] or ''
  unwait_read(sid, reqkey, req, f[2], head, list)
  redis.call('HSET', P .. 'offer:' .. rid, 'call', sid, 'agent', agent, 'queue', queue, 'created', NOW_TEXT,
             'deadline', deadline_text, 'state', 'pending')
  if f[3] then
    redis.call('HSET', call, 'acd', 'offered', 'offer', rid)
  else
    redis.call('HSET', call, 'acd', 'offered', 'offer', rid, 'offered_at', NOW_TEXT)
  end
  local agent_key = P .. 'agent:' .. agent
  if me == nil then
    left_status(agent_key, agent)
    redis.call('HSET', agent_key, 'status', 'reserved', 'since', NOW_TEXT, 'offer', rid)
    redis.call('HINCRBY', agent_key, 'offers', 1)
  else                                  -- HINCRBY's result, in the same write
    left_status(agent_key, agent, me[3], me[4])
    redis.call('HSET', agent_key, 'status', 'reserved', 'since', NOW_TEXT, 'offer', rid,
               'offers', int((tonumber(me[2]) or 0) + 1))
  end
  count_agent(agent, 'offers')
  redis.call('ZREM', P .. 'idle', agent)
  redis.call('ZADD', P .. 'timers', deadline_text, 'offer:' .. rid)
  -- round robin goes by each agent's last offer in the queue: kept for the queues that use it
  if queue ~= '' and f[7] == 'round_robin' then
    redis.call('ZADD', P .. 'rr:' .. queue, NOW_TEXT, agent)
  end
  event('offer', 'rid', rid, 'call', sid, 'agent', agent, 'queue', queue)
  publish(agent, {event = 'offer', reservation_id = rid, call_sid = sid, queue = queue, expires_at = deadline,
                  callback = f[4] ~= false})
  return rid
end

-- Route until nothing more matches: each call in `sids` looks for an agent, each agent in
-- `agents` for a call. Returns the offers made as {rid, sid, agent, ...}.
local function route(sids, agents)
  local made = {}
  local function offer(sid, agent, fields, me, head, reqkey, list)
    if sid and agent then
      local rid = make_offer(sid, agent, fields, me, head, reqkey, list)
      made[#made + 1] = rid; made[#made + 1] = sid; made[#made + 1] = agent
    end
  end
  for _, sid in ipairs(sids) do
    if hget(K('call:' .. sid), 'acd') == 'waiting' then offer(sid, pick_agent(sid)) end
  end
  for _, agent in ipairs(agents) do
    local p = pick_call(agent)
    if p then offer(p.sid, agent, p.fields, p.me, p.head, p.set, p.list) end
  end
  return made
end

-- The agent answered a connecting call at `at` (epoch s): the caller and the agent talk. Counts the
-- answer (and whether it met the service level) with the wait the caller really had.
local function answer_call(sid, at)
  local call = K('call:' .. sid)
  local agent = hget(call, 'agent')
  local queue = hget(call, 'queue')
  local waited = math.max(0, at - tonumber(hget(call, 'enqueued_at') or at))
  redis.call('HSET', call, 'acd', 'connected', 'answered_at', at, 'outcome', 'answered')
  count(queue, 'answered')
  count(queue, 'answer_wait_s', waited)
  count_max(queue, 'longest_wait_s', waited)
  if waited <= tonumber(hget(call, 'service_level_s') or 20) then count(queue, 'answered_sl') end
  if hget(call, 'callback') then count(queue, 'callbacks_served') end
  redis.call('HINCRBY', K('agent:' .. agent), 'calls', 1)
  -- last-agent routing: this caller's next call may wait a little for the same agent
  local caller = hget(call, 'from')
  if caller and caller ~= '' then redis.call('SET', K('last-agent:' .. caller), agent, 'EX', 30 * 86400) end
  count_agent(agent, 'calls')
  publish(agent, {event = 'connected', call_sid = sid})
  event('connected', 'call', sid, 'agent', agent, 'waited', waited)
end

-- Free an agent who was held for a call that never connected; route them again.
local function free_agent(agent, out)
  local agent_key = K('agent:' .. agent)
  redis.call('HDEL', agent_key, 'offer', 'call', 'role')
  local next_status = hget(agent_key, 'after_wrapup') or 'available'
  local reason = next_status == 'break' and hget(agent_key, 'after_reason') or ''
  left_status(agent_key, agent)
  redis.call('HSET', agent_key, 'status', next_status, 'since', NOW)
  redis.call('HDEL', agent_key, 'after_wrapup', 'after_reason', 'reason')
  if reason ~= '' then redis.call('HSET', agent_key, 'reason', reason) end
  publish(agent, {event = 'status', status = next_status, since = NOW, reason = reason ~= '' and reason or nil})
  if next_status == 'available' and hget(agent_key, 'on_shift') == '1' then
    redis.call('ZADD', K('idle'), NOW, agent)
    for _, x in ipairs(route({}, {agent})) do table.insert(out, x) end
  end
end

-- A part of the call (segments:<sid>, for the call record): each agent's talk, hold, consult, transfer.
local function segment(sid, entry)
  entry.at = NOW
  local key = K('segments:' .. sid)
  redis.call('RPUSH', key, cjson.encode(entry))
  redis.call('EXPIRE', key, 172800)
end

-- Every agent on a call hears of it: the primary agent (the call's `agent`) and the others on it
-- (parties:<sid>: consulted agents, three-way parties).
local function publish_call(sid, payload)
  local primary = hget(K('call:' .. sid), 'agent')
  if primary then publish(primary, payload) end
  for _, id in ipairs(redis.call('HKEYS', K('parties:' .. sid))) do
    if id ~= primary and not string.find(id, ':', 1, true) then publish(id, payload) end   -- number:<e164>: no agent
  end
end

-- The caller's hold ends (resumed, or the agent's part ended while holding): hold time counted per
-- call, queue and agent once. Returns the seconds held, or nil when not on hold.
local function end_hold(sid)
  local call = K('call:' .. sid)
  local since = tonumber(hget(call, 'held_at') or '')
  if not since then return nil end
  local held = math.max(0, NOW - since)
  local agent = hget(call, 'agent')
  redis.call('HDEL', call, 'held_at')
  redis.call('HINCRBYFLOAT', call, 'hold_s', held)
  count(hget(call, 'queue'), 'hold_s', held)
  if agent then count_agent(agent, 'hold_s', held) end
  segment(sid, {kind = 'hold', agent = agent, from = since, to = NOW, hold_s = held})
  publish_call(sid, {event = 'resumed', call_sid = sid})
  return held
end

-- An agent's part of a call is over: wrap-up for it (the wrap-up timer ends it).
local function to_wrapup(agent, sid)
  local agent_key = K('agent:' .. agent)
  left_status(agent_key, agent)
  redis.call('HSET', agent_key, 'status', 'wrapup', 'since', NOW, 'call', sid)
  redis.call('HDEL', agent_key, 'role')
  redis.call('ZADD', K('timers'), NOW + tonumber(hget(K('call:' .. sid), 'wrapup_s') or 30), 'wrapup:' .. agent .. ':' .. sid)
  publish(agent, {event = 'ended', call_sid = sid})
  publish(agent, {event = 'status', status = 'wrapup', since = NOW})
end

-- The primary agent's part of the call ends: talk counted once per part (a transfer starts another
-- part with another agent), the agent to wrap-up. `talk`: the part's length as Twilio measured it,
-- else from the part's answer until now. Returns the agent, or nil when no part was talking.
local function end_part(sid, talk)
  local call = K('call:' .. sid)
  local agent = hget(call, 'agent')
  if not agent or hget(call, 'talk_counted') or not hget(call, 'answered_at') then return nil end
  end_hold(sid)
  local answered = tonumber(hget(call, 'answered_at'))
  talk = talk or (NOW - answered)
  redis.call('HSET', call, 'talk_counted', 1)
  redis.call('HINCRBYFLOAT', call, 'talk_s', talk)
  local queue = hget(call, 'queue')
  count(queue, 'talk_s', talk)
  redis.call('HINCRBYFLOAT', K('agent:' .. agent), 'talk_s', talk)
  count_agent(agent, 'talk_s', talk)
  segment(sid, {kind = 'talk', agent = agent, queue = queue, from = answered, to = NOW, talk_s = talk})
  local agent_key = K('agent:' .. agent)
  if hget(agent_key, 'call') == sid and hget(agent_key, 'status') == 'busy' then to_wrapup(agent, sid) end
  event('talk_ended', 'call', sid, 'agent', agent, 'talk_s', talk)
  return agent
end

-- The call of a transfer that is under way, for an agent asking to end it ('' = a supervisor):
-- (the transfer's key, the call's sid) or (nil, why): 'unknown', 'over' (it ended already), 'not_yours'
-- (the caller's agent is someone else).
local function live_transfer(xid, by)
  local t = K('transfer:' .. xid)
  local sid = hget(t, 'call')
  if not sid then return nil, 'unknown' end
  local call = K('call:' .. sid)
  if hget(call, 'xfer') ~= xid then return nil, 'over' end
  if by ~= '' and by ~= hget(call, 'agent') then return nil, 'not_yours' end
  return t, sid
end

-- The transfer under way on a call ends (`state`: completed, canceled, failed) and its agent hears.
local function end_transfer(sid, state, why)
  local call = K('call:' .. sid)
  local xid = hget(call, 'xfer')
  if not xid then return end
  local t = K('transfer:' .. xid)
  redis.call('HSET', t, 'state', state, 'ended', NOW, 'why', why or '')
  redis.call('HDEL', call, 'xfer')
  local by = hget(t, 'by')
  local payload = {event = 'transfer', call_sid = sid, transfer_id = xid, state = state, why = why,
                   mode = hget(t, 'mode'), agent = hget(t, 'agent')}
  publish_call(sid, payload)
  if by and by ~= hget(call, 'agent') then publish(by, payload) end
  event('transfer_' .. state, 'call', sid, 'transfer', xid)
end

-- Everyone but the primary agent leaves the call (it ended): an offer to join it is withdrawn, a
-- consulted agent is free at once, a three-way party agent wraps up; a transfer under way failed.
local function release_parties(sid, out, why)
  end_transfer(sid, 'failed', why)
  local key = K('parties:' .. sid)
  local parties = redis.call('HGETALL', key)
  redis.call('DEL', key)
  for i = 1, #parties, 2 do
    local id, p = parties[i], cjson.decode(parties[i + 1])
    local agent_key = K('agent:' .. id)
    if p.kind == 'agent' and hget(agent_key, 'call') == sid then
      local status = hget(agent_key, 'status')
      if status == 'reserved' then
        local rid = hget(agent_key, 'offer')
        if rid then
          redis.call('DEL', K('offer:' .. rid))
          redis.call('ZREM', K('timers'), 'offer:' .. rid)
          publish(id, {event = 'offer_canceled', reservation_id = rid, call_sid = sid, reason = why})
        end
        free_agent(id, out)
      elseif status == 'busy' then
        publish(id, {event = 'party_left', call_sid = sid, party = p})
        if p.role == 'party' and p.state == 'joined' then to_wrapup(id, sid) else free_agent(id, out) end
      end
    end
  end
end

-- The call is over for the ACD: the primary agent's talk ends (see end_part) and everyone else on it
-- is let go. Idempotent (the caller's hang-up and the agent's leg both end a call). Returns 1 or 0.
local function end_talk(sid, talk, out)
  if not end_part(sid, talk) then return 0 end
  redis.call('HSET', K('call:' .. sid), 'acd', 'ended')
  release_parties(sid, out or {}, 'call_ended')
  return 1
end

-- The caller left the line without talking to anyone: counted abandoned, with the wait they had.
local function abandon(id)
  local c = K('call:' .. id)
  local queue = hget(c, 'queue') or ''
  local waited = NOW - tonumber(hget(c, 'enqueued_at') or NOW)
  redis.call('HSET', c, 'acd', 'ended', 'outcome', 'abandoned', 'abandoned_at', NOW)
  count(queue, 'abandoned')
  count(queue, 'abandon_wait_s', waited)
  count_max(queue, 'longest_wait_s', waited)
  if waited < 5 then count(queue, 'short_abandoned') end
  event('abandoned', 'call', id, 'queue', queue, 'waited', waited)
end

-- A caller who hung up before the agent's phone answered: abandoned, the agent free again (no miss).
local function let_go(sid, out)
  abandon(sid)
  redis.call('ZREM', K('timers'), 'leaving:' .. sid)
  local agent = hget(K('call:' .. sid), 'agent')
  if agent and hget(K('agent:' .. agent), 'call') == sid then
    publish(agent, {event = 'offer_canceled', call_sid = sid, reason = 'caller_hung_up'})
    free_agent(agent, out)
  end
end
