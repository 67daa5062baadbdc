-- Node ARGV[3] was forgotten as dead while alive: registers it again (liveness for ARGV[4] ms,
-- connection count ARGV[5]) and restores interest and presence of the sessions ARGV[7..] it
-- still owns; ARGV[6] is '1' in the first call of a reattach, '0' in the calls for the rest of
-- its sessions. Its interest is normally still there (a forgotten node keeps it for a while, see
-- heartbeat.lua); if it was dropped, each owned session counts once in its topics' interest
-- again (a subscribe that raced with the reattach may count twice: the node then hears a topic
-- longer than it needs to, never shorter). Returns {epoch, 1 if the interest had been dropped}.
local e = epoch()
local me = ARGV[3]
redis.call('SET', P .. 'n:' .. me, '1', 'PX', ARGV[4])
redis.call('ZADD', P .. 'nodes', nowMs(), me)
redis.call('HSET', P .. 'conns', me, ARGV[5])
local dropped = 0
local mark = P .. 'n:' .. me .. ':recount'
if ARGV[6] == '1' then
  redis.call('ZREM', P .. 'gone', me)
  if redis.call('DEL', P .. 'n:' .. me .. ':dropped') == 1 then
    dropped = 1
    redis.call('SET', mark, '1', 'PX', 600000)
  else
    redis.call('DEL', mark)
  end
elseif redis.call('EXISTS', mark) == 1 then
  dropped = 1
end
for i = 7, #ARGV do
  local sid = ARGV[i]
  local k = sessionKey(sid)
  local flat = redis.call('HGETALL', k)
  local h = {}
  for j = 1, #flat, 2 do h[flat[j]] = flat[j + 1] end
  if h['o'] == me and h['x'] ~= '1' then
    local topics = currentTopics(flat)
    for j = 1, #topics do
      if dropped == 1 then
        interestAdd(topics[j], me)
      end
      presenceJoin(topics[j], sid, me, h['pr'], e)
    end
  end
end
return {e, dropped}
