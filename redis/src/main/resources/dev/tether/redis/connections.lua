-- The sum of the connection counts of live nodes. Returns {epoch, sum}.
local e = epoch()
local flat = redis.call('HGETALL', P .. 'conns')
local live = {}
local sum = 0
for i = 1, #flat, 2 do
  if isLive(flat[i], live) then
    sum = sum + tonumber(flat[i + 1])
  end
end
return {e, sum}
