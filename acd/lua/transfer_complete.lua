-- A warm transfer completes: the consulted agent becomes the call's agent (a new part of the call
-- starts now), the first agent's part ends (wrap-up; the caller's hold during the consult counted to
-- them). A transfer to a queue moves the call to that queue. Transfers out and in are counted.
-- KEYS[1] events stream   ARGV[1] prefix   ARGV[2] now   ARGV[3] stats buckets   ARGV[4] id nonce
-- ARGV[5] transfer id   ARGV[6] agent asking ('' = a supervisor)
-- Returns {1, call sid, first agent, new agent}, or {0, why}: 'unknown', 'over' (completed, canceled
-- or failed already), 'not_consulting' (the target has not joined yet), 'not_yours', 'not_connected'.
local xid, by = ARGV[5], ARGV[6]
local t, sid = live_transfer(xid, by)
if not t then return {0, sid} end
local call = K('call:' .. sid)
if hget(call, 'acd') ~= 'connected' or hget(call, 'gone') then return {0, 'not_connected'} end
local old = hget(call, 'agent')
if hget(t, 'state') ~= 'consulting' then return {0, 'not_consulting'} end
local target = hget(t, 'agent')
local parties = K('parties:' .. sid)
local p = cjson.decode(hget(parties, target))
local payload = {event = 'transfer', call_sid = sid, transfer_id = xid, state = 'completed', mode = 'warm',
                 agent = target}
if old then publish(old, payload) end            -- before the first agent's `ended`: their page says where it went
end_part(sid, nil)
redis.call('HDEL', parties, target)
redis.call('HSET', call, 'agent', target, 'offer', p.rid or '', 'answered_at', NOW_TEXT)
redis.call('HDEL', call, 'talk_counted', 'xfer')
redis.call('HINCRBY', call, 'parts', 1)
redis.call('HDEL', K('agent:' .. target), 'role')
local old_queue = hget(call, 'queue')
local new_queue = old_queue
if hget(t, 'kind') == 'queue' then
  new_queue = hget(t, 'target')
  redis.call('HSET', call, 'queue', new_queue)
end
redis.call('HINCRBY', K('agent:' .. target), 'calls', 1)
count_agent(target, 'calls')
count(old_queue, 'transferred_out')
count(new_queue, 'transferred_in')
segment(sid, {kind = 'consult', agent = target, from = p.joined_at, to = NOW})
segment(sid, {kind = 'transfer', mode = 'warm', by = old, agent = target, to_kind = hget(t, 'kind'),
              to = hget(t, 'target'), queue = new_queue, notes = hget(t, 'notes')})
redis.call('HSET', t, 'state', 'completed', 'ended', NOW_TEXT)
publish_call(sid, payload)
publish(target, {event = 'connected', call_sid = sid})
event('transferred', 'call', sid, 'queue', new_queue, 'by', old or '', 'agent', target)
return {1, sid, old or '', target}
