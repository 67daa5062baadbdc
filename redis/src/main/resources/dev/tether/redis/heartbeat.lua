-- Heartbeat of node ARGV[3]: liveness for ARGV[4] ms, connection count ARGV[5], ARGV[6] '1' on
-- the first beat. Pings the node's own channel, then forgets up to 8 dead nodes.
-- Returns {epoch, 1 if this node had been forgotten as dead (else 0), subscribers of the ping}.
local e = epoch()
local me, timeout = ARGV[3], tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local swept = 0
if ARGV[6] ~= '1' and not redis.call('ZSCORE', P .. 'nodes', me) then
  swept = 1
end
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
return {e, swept, heard}
