-- Sends ARGV[5] to session ARGV[3]; ARGV[4] '1' if reliable (kept in the session's inbox).
-- Returns {epoch, 1} if no such session (or ended), else {epoch, 0, position}.
local e = epoch()
local sid = ARGV[3]
local k = sessionKey(sid)
local h = redis.call('HMGET', k, 'o', 'x')
if not h[1] or h[2] == '1' then return {e, 1} end
local pos = 0
if ARGV[4] == '1' then
  pos = redis.call('INCR', G)
  local ib = inboxKey(sid)
  redis.call('XADD', ib, int(pos) .. '-0', 'm', ARGV[5])
  local ttl = redis.call('PTTL', k)
  if ttl > 0 then redis.call('PEXPIRE', ib, ttl) end
end
redis.call('PUBLISH', nodeChannel(h[1]), frame('S', pos, e, {sid, ARGV[5]}))
return {e, 0, pos}
