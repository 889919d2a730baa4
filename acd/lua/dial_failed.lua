-- The agent's <Client> did not answer (no-answer, busy, failed) after an accept: the caller goes back
-- to their original place in line, the agent is freed (a miss), and both are routed again at once.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce   ARGV[5] call sid
-- A call `leaving` (its caller hung up while the agent's phone rang, call_gone.lua; or nothing said
-- within LEAVING_S: the `leaving:` timer) is abandoned instead, the agent freed without a miss.
-- ARGV[6] the reservation the Dial or leg was for ('' any): one of an earlier part changes nothing.
-- ARGV[7] '1' when the service itself could not connect the call (Twilio unreachable): the agent is
-- not charged a miss (they are still not offered this caller again).
-- Returns {1, offers made...} (back in line), {2, offers made...} (abandoned: the caller had left), or
-- {0} when the call is not connecting.
local sid = ARGV[5]
local call = K('call:' .. sid)
if ARGV[6] and ARGV[6] ~= '' and hget(call, 'offer') ~= ARGV[6] then return {0} end
local state = hget(call, 'acd')
if state == 'leaving' then
  local out = {2}
  let_go(sid, out)
  return out
end
if state ~= 'connecting' then return {0} end
local agent = hget(call, 'agent')
local out = {1}
redis.call('HDEL', call, 'agent')
if agent then
  redis.call('SADD', K('tried:' .. sid), agent)
  redis.call('EXPIRE', K('tried:' .. sid), 86400)
  redis.call('HSET', call, 'tried', 1)
  if ARGV[7] ~= '1' then
    redis.call('HINCRBY', K('agent:' .. agent), 'misses', 1)
    count_agent(agent, 'misses')
  end
  if hget(K('agent:' .. agent), 'call') == sid then free_agent(agent, out) end
end
event('connect_failed', 'call', sid, 'agent', agent or '', 'by', ARGV[7] == '1' and 'service' or 'phone')
wait_in_line(sid)
for _, x in ipairs(route({sid}, {})) do table.insert(out, x) end
return out
