-- Records that session ARGV[6] processed its client messages up to client seq ARGV[7], with
-- what their handlers did, atomically. ARGV[3] max stream length, ARGV[4] history TTL ms,
-- ARGV[5] meta TTL ms (as publish.lua), ARGV[8] the committing node, then per effect: kind
-- ('P' publish, 'S' send, 'U' subscribe, 'N' unsubscribe), topic (P, U, N) or session (S),
-- message bytes (P, S) or session (U, N). A client seq recorded already applies no publish or
-- send (a retried commit); subscription changes are applied anyway (twice is as once).
-- Returns {epoch, 1} if no such session (or ended), {epoch, 2} if client seq ARGV[7] > 0 and
-- another node owns the session now (nothing applied), else {epoch, 0}.
local e = epoch()
local k = sessionKey(ARGV[6])
local h = redis.call('HMGET', k, 'o', 'x', 'ci')
if not h[1] or h[2] == '1' then return {e, 1} end
local seq = tonumber(ARGV[7])
if seq > 0 and h[1] ~= ARGV[8] then return {e, 2} end
local fresh = seq > tonumber(h[3] or '0')
local maxLen = tonumber(ARGV[3])
for i = 9, #ARGV, 3 do
  local kind = ARGV[i]
  if kind == 'P' then
    if fresh then appendPublish(ARGV[i + 1], '1', ARGV[i + 2], maxLen, ARGV[4], ARGV[5], e) end
  elseif kind == 'S' then
    if fresh then appendSend(ARGV[i + 1], '1', ARGV[i + 2], maxLen, e) end
  else
    changeSubscription(ARGV[i + 2], ARGV[i + 1], kind == 'U', e)
  end
end
if fresh then redis.call('HSET', k, 'ci', ARGV[7]) end
return {e, 0}
