-- Records that session ARGV[6] processed its client messages up to client seq ARGV[7], with
-- the reliable messages their handlers sent, atomically. ARGV[3] max stream length, ARGV[4]
-- history TTL ms, ARGV[5] meta TTL ms (as publish.lua), then per effect: kind ('P' publish,
-- 'S' send), topic or session, message bytes. A client seq recorded already applies nothing
-- (a retried commit). Returns {epoch, 1} if no such session (or ended), else {epoch, 0}.
local e = epoch()
local k = sessionKey(ARGV[6])
local h = redis.call('HMGET', k, 'o', 'x', 'ci')
if not h[1] or h[2] == '1' then return {e, 1} end
if tonumber(ARGV[7]) <= tonumber(h[3] or '0') then return {e, 0} end
local maxLen = tonumber(ARGV[3])
for i = 8, #ARGV, 3 do
  if ARGV[i] == 'P' then
    appendPublish(ARGV[i + 1], '1', ARGV[i + 2], maxLen, ARGV[4], ARGV[5], e)
  else
    appendSend(ARGV[i + 1], '1', ARGV[i + 2], e)
  end
end
redis.call('HSET', k, 'ci', ARGV[7])
return {e, 0}
