-- Records checkpoints of node ARGV[3], four arguments each from ARGV[4]: session, seq, its
-- position, client seq. Never moves backwards. Drops ended subscriptions and inbox entries the
-- checkpoint passed. A session another node owns now is left alone: a late checkpoint of its
-- former node must not trim the inbox under the new owner's read of the feed.
-- Returns {epoch, then per checkpoint 1 if no such session, else 0}.
local e = epoch()
local out = {e}

local function checkpoint(sid, seqArg, posArg, cseqArg)
  local k = sessionKey(sid)
  local h = redis.call('HMGET', k, 'cs', 'ci', 'o')
  if not h[1] then return 1 end
  if h[3] ~= ARGV[3] then return 0 end
  local seq, pos, cseq = tonumber(seqArg), tonumber(posArg), tonumber(cseqArg)
  if seq > tonumber(h[1]) then
    redis.call('HSET', k, 'cs', seqArg, 'cp', posArg)
    local flat = redis.call('HGETALL', k)
    for i = 1, #flat, 2 do
      if string.sub(flat[i], 1, 2) == 'u\0' and tonumber(flat[i + 1]) <= pos then
        redis.call('HDEL', k, flat[i])
      end
    end
    local ib = inboxKey(sid)
    local last = redis.call('XREVRANGE', ib, posArg, '-', 'COUNT', 1)
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
    redis.call('HSET', k, 'ci', cseqArg)
  end
  return 0
end

for i = 4, #ARGV, 4 do
  out[#out + 1] = checkpoint(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
end
return out
