-- Unsubscribes session ARGV[3] from topic ARGV[4]: the subscription is kept as an ended one
-- until a checkpoint passes its end. Returns {epoch, 1} if no such session, else {epoch, 0, position}.
local e = epoch()
local sid, topic = ARGV[3], ARGV[4]
local k = sessionKey(sid)
local h = redis.call('HMGET', k, 'o', 'x', 'pr')
if not h[1] or h[2] == '1' then return {e, 1} end
local g = redis.call('INCR', G)
local f = 's\0' .. topic
local from = redis.call('HGET', k, f)
if from then
  redis.call('HDEL', k, f)
  redis.call('HSET', k, 'u\0' .. from .. '\0' .. topic, g)
  presenceLeave(topic, sid, h[1], h[3], e)
  interestRemove(topic, h[1])
end
redis.call('PUBLISH', nodeChannel(h[1]), frame('N', g, e, {sid, topic}))
return {e, 0, g}
