-- Session ARGV[4]'s retention passed on node ARGV[3], its owner: it leaves presence (with
-- leave events) and its record goes, so that a claim answers "missing". Nothing if another
-- node owns it or it ended. Returns {epoch}.
local e = epoch()
local me, sid = ARGV[3], ARGV[4]
local k = sessionKey(sid)
local h = redis.call('HMGET', k, 'o', 'x')
if h[1] == me and h[2] ~= '1' then
  dropSubscriptions(k, sid, e)
  redis.call('DEL', k, inboxKey(sid))
end
return {e}
