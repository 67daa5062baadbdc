-- Node ARGV[3] starts ('1') or stops ('0') watching the presence of topics ARGV[5..] (ARGV[4]
-- the flag): joins and leaves reach it without a subscriber of its own. Returns {epoch}.
local e = epoch()
local me = ARGV[3]
local idx = P .. 'n:' .. me .. ':w'
for i = 5, #ARGV do
  if ARGV[4] == '1' then
    redis.call('SADD', watchKey(ARGV[i]), me)
    redis.call('SADD', idx, ARGV[i])
  else
    redis.call('SREM', watchKey(ARGV[i]), me)
    redis.call('SREM', idx, ARGV[i])
  end
end
return {e}
