-- Extends the records of sessions node ARGV[3] owns to TTL ARGV[4] ms ('-' only checks), then
-- ARGV[5..] session ids. Returns {epoch, position now, ids of those not owned by the node (or
-- gone, or ended)}.
local e = epoch()
local me, ttl = ARGV[3], ARGV[4]
local out = {e, tonumber(redis.call('GET', G) or '0')}
for i = 5, #ARGV do
  local k = sessionKey(ARGV[i])
  local h = redis.call('HMGET', k, 'o', 'x')
  if h[1] == me and h[2] ~= '1' then
    if ttl ~= '-' then
      redis.call('PEXPIRE', k, ttl)
      redis.call('PEXPIRE', inboxKey(ARGV[i]), ttl)
    end
  else
    out[#out + 1] = ARGV[i]
  end
end
return out
