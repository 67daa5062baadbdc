-- Creates (or replaces) a session record owned by ARGV[3]. ARGV[4] session, ARGV[5] principal,
-- ARGV[6] token hash, ARGV[7] protocol, ARGV[8] TTL ms, ARGV[9] checkpoint seq, ARGV[10] client
-- seq, then per subscription of the record: topic, from, to ('max' while current).
-- Returns {epoch, position}.
local e = epoch()
local me, sid = ARGV[3], ARGV[4]
local k, ib = sessionKey(sid), inboxKey(sid)
if redis.call('EXISTS', k) == 1 then
  dropSubscriptions(k, sid, e)
end
redis.call('DEL', k, ib)
local g = redis.call('INCR', G)
redis.call('HSET', k, 'pr', ARGV[5], 'th', ARGV[6], 'pc', ARGV[7], 'o', me,
  'cs', ARGV[9], 'cp', g, 'ci', ARGV[10], 'e', e)
local fields = {sid}
for i = 11, #ARGV, 3 do
  local topic = ARGV[i]
  if ARGV[i + 2] == 'max' then
    redis.call('HSET', k, 's\0' .. topic, ARGV[i + 1])
    interestAdd(topic, me)
    presenceJoin(topic, sid, me, ARGV[5], e)
    fields[#fields + 1] = topic
  else
    redis.call('HSET', k, 'u\0' .. ARGV[i + 1] .. '\0' .. topic, ARGV[i + 2])
  end
end
redis.call('PEXPIRE', k, ARGV[8])
redis.call('PUBLISH', nodeChannel(me), frame('C', g, e, fields))
return {e, g}
