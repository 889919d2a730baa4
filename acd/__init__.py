"""The ACD: agents' state, queues and routing, all in Redis, each race-prone change one Lua script."""
