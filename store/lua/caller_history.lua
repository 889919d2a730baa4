-- What routing rules know of a call and its caller (read only): `call.calls_today`,
-- `call.repeat_caller` and `call.choices`.
-- KEYS[1] the caller's recent calls (zset: call sid -> arrival)   KEYS[2] the call's journey list
-- ARGV[1] call sid   ARGV[2] the start of today in the contact center's zone (epoch s)
-- ARGV[3] the start of the repeat window (epoch s)
-- Returns {calls today, calls in the window, choice...}: the caller's calls other than this one, and
-- the nodes chosen so far at menus (a key, words, or a yes to "Did you want ...?").
local function others(since)
  local n = redis.call('ZCOUNT', KEYS[1], since, '+inf')
  local own = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if own and tonumber(own) >= tonumber(since) then n = n - 1 end
  return n
end
local out = {others(ARGV[2]), others(ARGV[3])}
for _, raw in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local ok, step = pcall(cjson.decode, raw)
  if ok and type(step) == 'table' and type(step['next']) == 'string'
      and (step['event'] == 'digits' or step['event'] == 'speech' or step['event'] == 'confirmed') then
    out[#out + 1] = step['next']
  end
end
return out
