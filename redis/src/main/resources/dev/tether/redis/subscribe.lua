-- Subscribes session ARGV[3] to topic ARGV[4]; the marker goes to the session's owner.
-- Returns {epoch, 1} if no such session (or ended), else {epoch, 0, position}.
local e = epoch()
local sid, topic = ARGV[3], ARGV[4]
local k = sessionKey(sid)
local h = redis.call('HMGET', k, 'o', 'x', 'pr')
if not h[1] or h[2] == '1' then return {e, 1} end
local g = redis.call('INCR', G)
local f = 's\0' .. topic
if redis.call('HSETNX', k, f, g) == 1 then
  interestAdd(topic, h[1])
  presenceJoin(topic, sid, h[1], h[3], e)
end
redis.call('PUBLISH', nodeChannel(h[1]), frame('U', g, e, {sid, topic}))
return {e, 0, g}
