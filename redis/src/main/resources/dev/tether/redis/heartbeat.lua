-- Heartbeat of node ARGV[3]: liveness for ARGV[4] ms, connection count ARGV[5], ARGV[6] '1' on
-- the first beat. Pings the node's own channel, then forgets up to 8 dead nodes.
-- A node that was forgotten as dead (its first beat aside) is not registered again here: only
-- reattach.lua does that, together with its interest and presence. So a beat whose answer the
-- node never saw (it timed out while Redis stalled, and ran later) cannot hide the sweep.
-- Returns {epoch, 1 if this node is forgotten as dead (else 0), subscribers of the ping}.
local e = epoch()
local me, timeout = ARGV[3], tonumber(ARGV[4])
if ARGV[6] ~= '1' and not redis.call('ZSCORE', P .. 'nodes', me) then
  return {e, 1, 0}
end
local now = nowMs()
redis.call('SET', P .. 'n:' .. me, '1', 'PX', ARGV[4])
redis.call('ZADD', P .. 'nodes', now, me)
redis.call('HSET', P .. 'conns', me, ARGV[5])
local heard = redis.call('PUBLISH', nodeChannel(me), frame('G', 0, e, {me}))
local dead = redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', now - timeout, 'LIMIT', 0, 8)
for i = 1, #dead do
  if dead[i] ~= me and redis.call('EXISTS', P .. 'n:' .. dead[i]) == 0 then
    dropNode(dead[i], e)
  end
end
return {e, 0, heard}
