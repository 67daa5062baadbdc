-- Claims session ARGV[4] for node ARGV[3] if ARGV[5] is its token hash; ARGV[6] TTL ms;
-- ARGV[7] the client's resume attempt (0: none), which must be above the highest recorded.
-- Returns {epoch, status} with status 1 missing, 2 ended, 3 forbidden, 4 stale (nothing
-- changed), or {epoch, 0, position, record fields as HGETALL}.
local e = epoch()
local me, sid = ARGV[3], ARGV[4]
local k = sessionKey(sid)
local flat = redis.call('HGETALL', k)
if #flat == 0 then return {e, 1} end
local h = {}
for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
if h['x'] == '1' then return {e, 2} end
if h['th'] ~= ARGV[5] then return {e, 3} end
local attempt = tonumber(ARGV[7])
if attempt > 0 then
  if attempt <= tonumber(h['at'] or '0') then return {e, 4} end
  redis.call('HSET', k, 'at', ARGV[7])
end
local g = redis.call('INCR', G)
local old = h['o']
local topics = currentTopics(flat)
if old ~= me then
  redis.call('HSET', k, 'o', me)
  for i = 1, #topics do
    interestRemove(topics[i], old)
    interestAdd(topics[i], me)
    redis.call('SREM', P .. 'n:' .. old .. ':p', sid .. '\0' .. topics[i])
    if redis.call('HEXISTS', P .. 'p:' .. topics[i], sid) == 1 then
      -- Presence follows the session to its new node without a leave or a join.
      presenceSet(topics[i], sid, me, h['pr'])
    else
      -- It left with its dead or departed node: it joins again.
      presenceJoin(topics[i], sid, me, h['pr'], e)
    end
  end
end
redis.call('PEXPIRE', k, ARGV[6])
redis.call('PEXPIRE', inboxKey(sid), ARGV[6])
local fields = {sid}
for i = 1, #topics do fields[#fields + 1] = topics[i] end
redis.call('PUBLISH', nodeChannel(me), frame('C', g, e, fields))
if old ~= me then
  redis.call('PUBLISH', nodeChannel(old), frame('R', 0, e, {sid}))
end
return {e, 0, g, flat}
