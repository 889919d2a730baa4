-- Test-only: check the ACD's invariants on one consistent snapshot (a script runs atomically).
-- KEYS[1] any key of the workspace   ARGV[1] prefix   ARGV[2] agent ids JSON   ARGV[3] queue names JSON
-- ARGV[4] (optional) the key of a set of call sids the test put on agents (accepted offers, parties,
-- transfers): each is checked from the call's side too, and forgotten once it is over and clean (the
-- checker's only write, to the test's own set; an ended call never comes back).
-- Returns a list of violations (empty when all hold).
local P = ARGV[1]
local agents = cjson.decode(ARGV[2])
local queues = cjson.decode(ARGV[3])
local watched = ARGV[4]
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
local function parties_of(sid)
  local flat, out = redis.call('HGETALL', K('parties:' .. sid)), {}
  for i = 1, #flat, 2 do out[flat[i]] = cjson.decode(flat[i + 1]) end
  return out
end

local offers_of, live = {}, {}          -- live: calls some agent is busy on or asked onto
for _, id in ipairs(agents) do
  local a = K('agent:' .. id)
  local f = redis.call('HMGET', a, 'status', 'call', 'offer', 'role', 'on_shift')
  local status, sid, rid, role = f[1], f[2], f[3], f[4]
  local idle = redis.call('ZSCORE', K('idle'), id)
  if (status == 'available' and f[5] == '1') ~= (idle ~= false) then
    fail('idle set disagrees for ' .. id .. ' status ' .. tostring(status))
  end
  if status == 'reserved' then
    local o = K('offer:' .. tostring(rid))
    if not rid or hget(o, 'state') ~= 'pending' or hget(o, 'agent') ~= id then
      fail('reserved agent ' .. id .. ' without its pending offer ' .. tostring(rid))
    elseif not redis.call('ZSCORE', K('timers'), 'offer:' .. rid) then
      fail('pending offer ' .. rid .. ' to ' .. id .. ' without its timer')
    elseif hget(o, 'kind') == 'party' then
      -- asked onto a connected call: reserved for it, listed on it as offered
      local of = hget(o, 'call')
      live[of] = true
      if sid ~= of then fail('reserved agent ' .. id .. ' on call ' .. tostring(sid) .. ' asked onto ' .. of) end
      if hget(K('call:' .. of), 'acd') ~= 'connected' or ended(of) then
        fail('party offer ' .. rid .. ' to ' .. id .. ' for call ' .. of .. ' in ' .. tostring(hget(K('call:' .. of), 'acd')))
      end
      local p = parties_of(of)[id]
      if not p or p.state ~= 'offered' or p.rid ~= rid then
        fail('party offer ' .. rid .. ' to ' .. id .. ' not on ' .. of .. '\'s parties as offered')
      end
    elseif sid then
      fail('reserved agent ' .. id .. ' for a caller still on call ' .. sid)
    end
  elseif status == 'busy' then
    local st = sid and hget(K('call:' .. sid), 'acd')
    if st ~= 'connecting' and st ~= 'connected' and st ~= 'leaving' then
      fail('busy agent ' .. id .. ' with call in ' .. tostring(st))
    end
    if sid then
      live[sid] = true
      if hget(K('call:' .. sid), 'agent') == id then
        if st == 'leaving' and not (ended(sid) and redis.call('ZSCORE', K('timers'), 'leaving:' .. sid)) then
          fail('call ' .. sid .. ' leaving without its hang-up or its timer')
        end
        if ended(sid) and st ~= 'leaving' then fail('ended call ' .. sid .. ' is ' .. tostring(st) .. ' with ' .. id) end
        if role then fail('the agent ' .. id .. ' of call ' .. sid .. ' has a party role ' .. role) end
      else
        -- not the call's agent: consulted or a three-way party, who accepted (ringing) or joined
        local p = parties_of(sid)[id]
        if not p or (p.state ~= 'ringing' and p.state ~= 'joined') then
          fail('busy agent ' .. id .. ' neither the agent of ' .. sid .. ' nor on its parties (' .. tostring(p and p.state) .. ')')
        elseif p.role ~= role then
          fail('party ' .. id .. ' of ' .. sid .. ' with role ' .. tostring(role) .. ', listed as ' .. tostring(p.role))
        end
        if st ~= 'connected' or ended(sid) then fail('party ' .. id .. ' busy on ' .. sid .. ' in ' .. tostring(st)) end
      end
    end
  elseif status ~= 'wrapup' and sid then
    fail(tostring(status) .. ' agent ' .. id .. ' still on call ' .. sid)
  end
end

-- every pending offer (each has its timeout timer): one per agent; a caller's call offered and out of
-- line, a party offer's call connected (checked above from the agent's side)
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
      if hget(K('agent:' .. agent), 'offer') ~= rid then fail('pending offer ' .. rid .. ' not ' .. agent .. '\'s') end
      if ended(sid) then fail('ended call ' .. sid .. ' offered to ' .. agent) end
      if hget(key, 'kind') ~= 'party' then
        if hget(K('call:' .. sid), 'acd') ~= 'offered' then fail('offered call ' .. sid .. ' in ' .. tostring(hget(K('call:' .. sid), 'acd'))) end
        if redis.call('ZSCORE', K('queue:' .. hget(K('call:' .. sid), 'queue')), sid) then fail('offered call still in line ' .. sid) end
      end
    end
  end
end

-- the calls agents are on (and the test's watched ones), from the call's side: its agent and its
-- parties are on it and on nothing else; an ended call has nobody on it and no transfer under way
if watched then
  for _, sid in ipairs(redis.call('SMEMBERS', watched)) do live[sid] = true end
end
for sid, _ in pairs(live) do
  local c = redis.call('HMGET', K('call:' .. sid), 'acd', 'agent', 'xfer')
  local st, primary, xid = c[1], c[2], c[3]
  local parties = parties_of(sid)
  local over = st == 'ended' or ended(sid)
  if over and (next(parties) or xid) then
    fail('ended call ' .. sid .. ' (' .. tostring(st) .. ') still has parties or transfer ' .. tostring(xid))
  end
  if primary and (st == 'connecting' or st == 'connected' or st == 'leaving') then
    local a = redis.call('HMGET', K('agent:' .. primary), 'status', 'call')
    if a[1] ~= 'busy' or a[2] ~= sid then
      fail('call ' .. sid .. ' ' .. st .. ' with ' .. primary .. ', who is ' .. tostring(a[1]) .. ' on ' .. tostring(a[2]))
    end
  end
  for id, p in pairs(parties) do
    if st ~= 'connected' then fail('call ' .. sid .. ' in ' .. tostring(st) .. ' has party ' .. id) end
    if id == primary then fail('the agent ' .. id .. ' of ' .. sid .. ' is also its party') end
    if p.transfer ~= '' and p.transfer ~= xid then
      fail('party ' .. id .. ' of ' .. sid .. ' for transfer ' .. tostring(p.transfer) .. ', not under way')
    end
    if p.kind == 'agent' then
      local a = redis.call('HMGET', K('agent:' .. id), 'status', 'call', 'offer')
      local want = p.state == 'offered' and 'reserved' or 'busy'
      if a[1] ~= want or a[2] ~= sid or (want == 'reserved' and a[3] ~= p.rid) then
        fail('party ' .. id .. ' ' .. tostring(p.state) .. ' on ' .. sid .. ' is ' .. tostring(a[1]) .. ' on ' .. tostring(a[2]))
      end
    end
  end
  if xid then
    local t = redis.call('HMGET', K('transfer:' .. xid), 'state', 'call', 'agent')
    if (t[1] ~= 'ringing' and t[1] ~= 'consulting') or t[2] ~= sid then
      fail('call ' .. sid .. '\'s transfer ' .. xid .. ' is ' .. tostring(t[1]) .. ' of ' .. tostring(t[2]))
    elseif t[3] then
      local p = parties[t[3]]
      if not p or p.transfer ~= xid or ((p.state == 'joined') ~= (t[1] == 'consulting')) then
        fail('transfer ' .. xid .. ' ' .. t[1] .. ' to ' .. t[3] .. ', who is ' .. tostring(p and p.state) .. ' on ' .. sid)
      end
    end
  end
  if watched and st == 'ended' and not next(parties) and not xid then redis.call('SREM', watched, sid) end
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
