-- Route again after something outside the scripts changed who may serve whom (a shift started, an
-- agent's skills changed, a preferred-agent wait ran out).
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] n, the number of calls   ARGV[6 .. 5+n] call sids   ARGV[6+n ..] agent ids
-- Returns the offers made {rid, sid, agent, ...}.
local n = tonumber(ARGV[5])
local calls, agents = {}, {}
for i = 6, 5 + n do calls[#calls + 1] = ARGV[i] end
for i = 6 + n, #ARGV do agents[#agents + 1] = ARGV[i] end
return route(calls, agents)
