-- Mirror an agent's profile from SQL into Redis (create, update).
-- KEYS[1] agent hash   KEYS[2] agents set   KEYS[3] idle zset
-- ARGV[1] agent id   ARGV[2] now (epoch s)   ARGV[3] on shift now (1/0)   ARGV[4] key prefix ("cr:{ws}:")
-- ARGV[5] profile JSON {name, timezone, country, skills: {name: level}, schedule: JSON text, auto_accept: '1'/'0'}
-- A new agent starts offline, with no `since` (they have not been anywhere yet: the board shows no time
-- in status for someone who never logged in); an existing one keeps its status. Returns the status.
local id, now, on_shift, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local profile = cjson.decode(ARGV[5])
local status = redis.call('HGET', KEYS[1], 'status')
if not status then
  status = 'offline'
  redis.call('HSET', KEYS[1], 'status', status, 'missed', 0)
end
-- Skills: drop the ones no longer held, set the levels of the others.
local old = redis.call('HGET', KEYS[1], 'skills')
if old then
  for name, _ in pairs(cjson.decode(old)) do
    if profile.skills[name] == nil then
      redis.call('ZREM', prefix .. 'skill:' .. name, id)
    end
  end
end
for name, level in pairs(profile.skills) do
  redis.call('ZADD', prefix .. 'skill:' .. name, level, id)
end
redis.call('HSET', KEYS[1], 'name', profile.name, 'timezone', profile.timezone, 'country', profile.country,
           'skills', cjson.encode(profile.skills), 'schedule', profile.schedule, 'on_shift', on_shift,
           'auto_accept', profile.auto_accept or '0')
redis.call('SADD', KEYS[2], id)
if status == 'available' and on_shift == '1' then
  redis.call('ZADD', KEYS[3], 'NX', now, id)
else
  redis.call('ZREM', KEYS[3], id)
end
return status
