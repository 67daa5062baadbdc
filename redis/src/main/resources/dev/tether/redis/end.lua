-- Ends session ARGV[3] for good; the record stays ARGV[4] ms so that a claim answers "ended".
-- Returns {epoch}.
local e = epoch()
local sid = ARGV[3]
local k = sessionKey(sid)
local h = redis.call('HMGET', k, 'o', 'x')
if h[1] and h[2] ~= '1' then
  dropSubscriptions(k, sid, e)
  redis.call('HSET', k, 'x', '1')
  redis.call('DEL', inboxKey(sid))
  redis.call('PEXPIRE', k, ARGV[4])
end
return {e}
