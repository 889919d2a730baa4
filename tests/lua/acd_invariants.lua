-- Test-only: check the ACD's invariants on one consistent snapshot (a script runs atomically).
-- KEYS[1] any key of the workspace   ARGV[1] prefix   ARGV[2] agent ids JSON   ARGV[3] queue names JSON
-- Returns a list of violations (empty when all hold).
local P = ARGV[1]
local agents = cjson.decode(ARGV[2])
local queues = cjson.decode(ARGV[3])
local bad = {}
local function K(s) return P .. s end
local function hget(k, f) local v = redis.call('HGET', k, f); if v == false then return nil end; return v end
local function fail(msg) table.insert(bad, msg) end
-- A call whose caller is gone (a hang-up learned: `gone`, or the IVR's `ended_at`) never waits, is
-- offered or connects again; a callback request outlives its caller's call by design.
local function ended(sid)
  local f = redis.call('HMGET', K('call:' .. sid), 'gone', 'ended_at', 'callback')
  return (f[1] or f[2]) and not f[3]
end

local offers_of = {}
for _, id in ipairs(agents) do
  local a = K('agent:' .. id)
  local status = hget(a, 'status')
  local idle = redis.call('ZSCORE', K('idle'), id)
  if (status == 'available' and hget(a, 'on_shift') == '1') ~= (idle ~= false) then
    fail('idle set disagrees for ' .. id .. ' status ' .. tostring(status))
  end
  if status == 'reserved' then
    local rid = hget(a, 'offer')
    if not rid or hget(K('offer:' .. rid), 'state') ~= 'pending' or hget(K('offer:' .. rid), 'agent') ~= id then
      fail('reserved agent ' .. id .. ' without its pending offer ' .. tostring(rid))
    end
  elseif status == 'busy' then
    local sid = hget(a, 'call')
    local st = sid and hget(K('call:' .. sid), 'acd')
    if st ~= 'connecting' and st ~= 'connected' and st ~= 'leaving' then
      fail('busy agent ' .. id .. ' with call in ' .. tostring(st))
    end
    if st == 'leaving' and not (ended(sid) and redis.call('ZSCORE', K('timers'), 'leaving:' .. sid)) then
      fail('call ' .. sid .. ' leaving without its hang-up or its timer')
    end
    if sid and hget(K('call:' .. sid), 'agent') ~= id then fail('busy agent ' .. id .. ' not the call\'s agent') end
    if sid and ended(sid) and st ~= 'leaving' then fail('ended call ' .. sid .. ' is ' .. tostring(st) .. ' with ' .. id) end
  end
end

-- every pending offer (each has its timeout timer): one per agent, its call offered and out of line
for _, member in ipairs(redis.call('ZRANGE', K('timers'), 0, -1)) do
  local rid = string.match(member, '^offer:(.*)$')
  if rid then
    local key = K('offer:' .. rid)
    if hget(key, 'state') ~= 'pending' then fail('timer for a non-pending offer ' .. rid) end
    local agent, sid = hget(key, 'agent'), hget(key, 'call')
    if agent then
      offers_of[agent] = (offers_of[agent] or 0) + 1
      if offers_of[agent] > 1 then fail('agent ' .. agent .. ' holds two offers') end
      if hget(K('agent:' .. agent), 'status') ~= 'reserved' then fail('offer to a non-reserved agent ' .. agent) end
      if hget(K('call:' .. sid), 'acd') ~= 'offered' then fail('offered call ' .. sid .. ' in ' .. tostring(hget(K('call:' .. sid), 'acd'))) end
      if ended(sid) then fail('ended call ' .. sid .. ' offered to ' .. agent) end
      if redis.call('ZSCORE', K('queue:' .. hget(K('call:' .. sid), 'queue')), sid) then fail('offered call still in line ' .. sid) end
    end
  end
end

-- waiting calls: in exactly their line; and nobody idle could take them (work-conserving)
local idle = redis.call('ZRANGE', K('idle'), 0, -1)
for _, q in ipairs(queues) do
  for _, sid in ipairs(redis.call('ZRANGE', K('queue:' .. q), 0, -1)) do
    local c = K('call:' .. sid)
    if hget(c, 'acd') ~= 'waiting' then fail('call in line but ' .. tostring(hget(c, 'acd')) .. ': ' .. sid) end
    if ended(sid) then fail('ended call in line: ' .. sid) end
    if not redis.call('ZSCORE', K('wait:' .. hget(c, 'reqkey')), sid) then fail('waiting call missing from its set ' .. sid) end
    -- its set is in the reqheads list of its most demanding skill (ties: first by name; '*' for none),
    -- at a score no later than its own, and in no other list
    local req = cjson.decode(hget(c, 'req'))
    local index, level = '*', -1
    for skill, l in pairs(req) do
      if l > level or (l == level and skill < index) then index, level = skill, l end
    end
    local head = redis.call('ZSCORE', K('reqheads:' .. index), hget(c, 'reqkey'))
    if not head or tonumber(head) > tonumber(hget(c, 'score')) then fail('reqheads:' .. index .. ' misses ' .. sid) end
    for skill, _ in pairs(req) do
      if skill ~= index and redis.call('ZSCORE', K('reqheads:' .. skill), hget(c, 'reqkey')) then
        fail('reqheads:' .. skill .. ' holds ' .. hget(c, 'reqkey') .. ' too')
      end
    end
    for _, agent in ipairs(idle) do
      local fits = redis.call('SISMEMBER', K('tried:' .. sid), agent) == 0
      for skill, level in pairs(req) do
        local have = redis.call('ZSCORE', K('skill:' .. skill), agent)
        if not have or tonumber(have) < level then fits = false end
      end
      if fits then fail('not work-conserving: ' .. agent .. ' idle while ' .. sid .. ' waits') end
    end
  end
end
return bad
