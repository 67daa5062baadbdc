-- Node ARGV[3] leaves the cluster: forgotten at once, interest included (its subscriber closes
-- with it). Its sessions stay claimable. Returns {epoch}.
local e = epoch()
dropNode(ARGV[3], e)
dropInterest(ARGV[3])
redis.call('DEL', P .. 'n:' .. ARGV[3])
return {e}
