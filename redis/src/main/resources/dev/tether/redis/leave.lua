-- Node ARGV[3] leaves the cluster: forgotten at once, as a dead node would be after its timeout.
-- Its sessions stay claimable. Returns {epoch}.
local e = epoch()
dropNode(ARGV[3], e)
redis.call('DEL', P .. 'n:' .. ARGV[3])
return {e}
