-- Heartbeat of node ARGV[3]: liveness for ARGV[4] ms, connection count ARGV[5], ARGV[6] '1' on
-- the first beat, ARGV[7] how long (ms) a forgotten node keeps its interest. Pings the node's
-- own channel, then forgets up to 8 dead nodes and drops the interest of up to 8 nodes forgotten
-- longer than ARGV[7] ago.
-- A node that was forgotten as dead (its first beat aside) is not registered again here: only
-- reattach.lua does that, together with its presence. So a beat whose answer the node never saw
-- (it timed out while Redis stalled, and ran later) cannot hide the sweep.
-- A node sweeps others only if its own previous beat is recent: after Redis itself stalled,
-- every node looks silent, and the first to beat again must not take the others for dead.
-- Returns {epoch, 1 if this node is forgotten as dead (else 0), subscribers of the ping}.
local e = epoch()
local me, timeout = ARGV[3], tonumber(ARGV[4])
local previous = redis.call('ZSCORE', P .. 'nodes', me)
if ARGV[6] ~= '1' and not previous then
  return {e, 1, 0}
end
local now = nowMs()
redis.call('SET', P .. 'n:' .. me, '1', 'PX', ARGV[4])
redis.call('ZADD', P .. 'nodes', now, me)
redis.call('HSET', P .. 'conns', me, ARGV[5])
local heard = redis.call('PUBLISH', nodeChannel(me), frame('G', 0, e, {me}))
if previous and now - tonumber(previous) <= timeout then
  local dead = redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', now - timeout, 'LIMIT', 0, 8)
  for i = 1, #dead do
    if dead[i] ~= me and redis.call('EXISTS', P .. 'n:' .. dead[i]) == 0 then
      dropNode(dead[i], e)
      redis.call('ZADD', P .. 'gone', now, dead[i])
    end
  end
  local stale = redis.call('ZRANGEBYSCORE', P .. 'gone', '-inf', now - tonumber(ARGV[7]), 'LIMIT', 0, 8)
  for i = 1, #stale do
    dropInterest(stale[i])
  end
end
return {e, 0, heard}
