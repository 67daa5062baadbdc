-- Records a checkpoint of session ARGV[3]: seq ARGV[4] at position ARGV[5], client seq ARGV[6].
-- Never moves backwards. Drops ended subscriptions and inbox entries the checkpoint passed.
-- Returns {epoch, 1} if no such session, else {epoch, 0}.
local e = epoch()
local sid = ARGV[3]
local k = sessionKey(sid)
local h = redis.call('HMGET', k, 'cs', 'ci')
if not h[1] then return {e, 1} end
local seq, pos, cseq = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if seq > tonumber(h[1]) then
  redis.call('HSET', k, 'cs', ARGV[4], 'cp', ARGV[5])
  local flat = redis.call('HGETALL', k)
  for i = 1, #flat, 2 do
    if string.sub(flat[i], 1, 2) == 'u\0' and tonumber(flat[i + 1]) <= pos then
      redis.call('HDEL', k, flat[i])
    end
  end
  local ib = inboxKey(sid)
  local last = redis.call('XREVRANGE', ib, ARGV[5], '-', 'COUNT', 1)
  if #last > 0 then
    local id = last[1][1]
    local at = tonumber(string.sub(id, 1, string.find(id, '-', 1, true) - 1))
    if at > tonumber(redis.call('HGET', k, 'it') or '0') then
      redis.call('HSET', k, 'it', int(at))
    end
    redis.call('XTRIM', ib, 'MINID', int(pos + 1))
  end
end
if cseq > tonumber(h[2]) then
  redis.call('HSET', k, 'ci', ARGV[6])
end
return {e, 0}
