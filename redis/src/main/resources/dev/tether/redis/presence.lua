-- The sessions on topic ARGV[3] owned by live nodes. Returns {epoch, session, principal, ...}.
local e = epoch()
local flat = redis.call('HGETALL', P .. 'p:' .. ARGV[3])
local live = {}
local out = {e}
for i = 1, #flat, 2 do
  local v = flat[i + 1]
  local sep = string.find(v, '|', 1, true)
  if sep and isLive(string.sub(v, 1, sep - 1), live) then
    out[#out + 1] = flat[i]
    out[#out + 1] = string.sub(v, sep + 1)
  end
end
return out
