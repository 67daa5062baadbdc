-- Publishes a batch in order. ARGV[3] max stream length, ARGV[4] history TTL ms, ARGV[5] meta
-- TTL ms, then per publish: topic, reliable ('1' or '0'), message bytes.
-- Returns {epoch, position of each publish (0 if volatile)}.
local maxLen = tonumber(ARGV[3])
local e = epoch()
local out = {e}

local function raiseTrimmed(meta, pos)
  local tg = tonumber(redis.call('HGET', meta, 'tg') or '0')
  if tonumber(pos) > tg then
    redis.call('HSET', meta, 'tg', pos)
  end
end

for i = 6, #ARGV, 3 do
  local topic, m = ARGV[i], ARGV[i + 2]
  local pos = 0
  if ARGV[i + 1] == '1' then
    pos = redis.call('INCR', G)
    local x = P .. 't:' .. topic .. ':x'
    local meta = P .. 't:' .. topic .. ':m'
    if redis.call('EXISTS', x) == 0 then
      -- The history expired: everything up to the last publish is gone.
      local last = redis.call('HGET', meta, 'last')
      if last then raiseTrimmed(meta, last) end
    end
    redis.call('XADD', x, int(pos) .. '-0', 'm', m)
    local len = redis.call('XLEN', x)
    if len > maxLen then
      local gone = redis.call('XRANGE', x, '-', '+', 'COUNT', len - maxLen)
      local id = gone[#gone][1]
      raiseTrimmed(meta, string.sub(id, 1, string.find(id, '-', 1, true) - 1))
      redis.call('XTRIM', x, 'MAXLEN', maxLen)
    end
    redis.call('PEXPIRE', x, ARGV[4])
    redis.call('HSET', meta, 'last', pos)
    redis.call('PEXPIRE', meta, ARGV[5])
  end
  fanout(topic, frame('P', pos, e, {topic, m}))
  out[#out + 1] = pos
end
return out
