-- Route again after something outside the scripts changed who may serve whom (a shift started, an
-- agent's skills changed, a preferred-agent wait ran out).
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets
-- ARGV[4] JSON {"calls": [sid...], "agents": [id...]}
-- Returns the offers made {rid, sid, agent, ...}.
local todo = cjson.decode(ARGV[4])
return route(todo.calls or {}, todo.agents or {})
