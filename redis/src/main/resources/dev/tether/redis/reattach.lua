-- Node ARGV[3] was forgotten as dead while alive: registers it again (liveness for ARGV[4] ms,
-- connection count ARGV[5]) and restores interest and presence of the sessions ARGV[6..] it
-- still owns. The sweep dropped all of the node's interest, so each owned session counts once
-- in its topics' interest again (a subscribe that raced with the reattach may count twice: the
-- node then hears a topic longer than it needs to, never shorter). Returns {epoch}.
local e = epoch()
local me = ARGV[3]
redis.call('SET', P .. 'n:' .. me, '1', 'PX', ARGV[4])
redis.call('ZADD', P .. 'nodes', nowMs(), me)
redis.call('HSET', P .. 'conns', me, ARGV[5])
for i = 6, #ARGV do
  local sid = ARGV[i]
  local k = sessionKey(sid)
  local flat = redis.call('HGETALL', k)
  local h = {}
  for j = 1, #flat, 2 do h[flat[j]] = flat[j + 1] end
  if h['o'] == me and h['x'] ~= '1' then
    local topics = currentTopics(flat)
    for j = 1, #topics do
      interestAdd(topics[j], me)
      presenceJoin(topics[j], sid, me, h['pr'], e)
    end
  end
end
return {e}
