-- Prelude of every Tether script: RedisBroker prepends it to each of the others.
-- ARGV[1] is the key prefix, ARGV[2] a fresh random epoch, used only if the epoch key is missing.
-- Keys are built here from the prefix: one Redis is one shard (Redis Cluster is not supported).
local P = ARGV[1]
local G = P .. '{g}'

-- The epoch names this Redis's history; a Redis that lost its data gets a new one.
local function epoch()
  local e = redis.call('GET', P .. '{e}')
  if not e then
    e = ARGV[2]
    redis.call('SET', P .. '{e}', e)
  end
  return e
end

-- Lua numbers are doubles: '%d' keeps positions out of exponent notation.
local function int(n)
  return string.format('%d', n)
end

local function field(s)
  return #s .. ':' .. s
end

-- A marker on a node channel: kind letter, then netstring-like fields "<len>:<bytes>":
-- position, epoch, then the kind's own fields.
local function frame(kind, pos, e, fields)
  local out = {kind, field(int(pos)), field(e)}
  for i = 1, #fields do
    out[#out + 1] = field(fields[i])
  end
  return table.concat(out)
end

local function nodeChannel(n)
  return P .. 'node:' .. n
end

local function sessionKey(s)
  return P .. 's:' .. s
end

local function inboxKey(s)
  return P .. 's:' .. s .. ':i'
end

local function interestKey(t)
  return P .. 't:' .. t .. ':nodes'
end

-- Sends a marker to every node with a session subscribed to the topic.
local function fanout(topic, msg)
  local nodes = redis.call('HKEYS', interestKey(topic))
  for i = 1, #nodes do
    redis.call('PUBLISH', nodeChannel(nodes[i]), msg)
  end
end

-- Watchers: t:<T>:watch is the set of nodes that watch the topic's presence without necessarily
-- having a subscriber; n:<node>:w indexes the topics a node watches.
local function watchKey(t)
  return P .. 't:' .. t .. ':watch'
end

-- Sends a presence marker to every node with a session subscribed to the topic or watching it,
-- once each.
local function presenceFanout(topic, msg)
  local sent = {}
  local nodes = redis.call('HKEYS', interestKey(topic))
  for i = 1, #nodes do
    sent[nodes[i]] = true
    redis.call('PUBLISH', nodeChannel(nodes[i]), msg)
  end
  local watching = redis.call('SMEMBERS', watchKey(topic))
  for i = 1, #watching do
    if not sent[watching[i]] then
      redis.call('PUBLISH', nodeChannel(watching[i]), msg)
    end
  end
end

-- Interest: t:<T>:nodes counts the subscribed sessions each node owns; n:<node>:t indexes the
-- topics of a node so that a dead node can be removed from them.
local function interestAdd(topic, node)
  if redis.call('HINCRBY', interestKey(topic), node, 1) == 1 then
    redis.call('SADD', P .. 'n:' .. node .. ':t', topic)
  end
end

local function interestRemove(topic, node)
  local k = interestKey(topic)
  if redis.call('HINCRBY', k, node, -1) <= 0 then
    redis.call('HDEL', k, node)
    redis.call('SREM', P .. 'n:' .. node .. ':t', topic)
  end
end

-- Presence: p:<T> maps session to "<node>|<principal>"; n:<node>:p indexes "<session>\0<topic>".
local function presenceSet(topic, sid, node, principal)
  redis.call('HSET', P .. 'p:' .. topic, sid, node .. '|' .. principal)
  redis.call('SADD', P .. 'n:' .. node .. ':p', sid .. '\0' .. topic)
end

local function presenceJoin(topic, sid, node, principal, e)
  presenceSet(topic, sid, node, principal)
  presenceFanout(topic, frame('J', 0, e, {topic, sid, principal}))
end

local function presenceLeave(topic, sid, node, principal, e)
  presenceFanout(topic, frame('L', 0, e, {topic, sid, principal}))
  redis.call('HDEL', P .. 'p:' .. topic, sid)
  redis.call('SREM', P .. 'n:' .. node .. ':p', sid .. '\0' .. topic)
end

-- A session hash keeps a current subscription as field "s\0<topic>" = from and an ended one
-- as "u\0<from>\0<topic>" = to.
local function currentTopics(flat)
  local topics = {}
  for i = 1, #flat, 2 do
    if string.sub(flat[i], 1, 2) == 's\0' then
      topics[#topics + 1] = string.sub(flat[i], 3)
    end
  end
  return topics
end

-- Drops the current subscriptions of a session (presence leave, interest), not its history.
local function dropSubscriptions(k, sid, e)
  local flat = redis.call('HGETALL', k)
  local owner, principal
  for i = 1, #flat, 2 do
    if flat[i] == 'o' then owner = flat[i + 1] elseif flat[i] == 'pr' then principal = flat[i + 1] end
  end
  local topics = currentTopics(flat)
  for i = 1, #topics do
    presenceLeave(topics[i], sid, owner, principal, e)
    interestRemove(topics[i], owner)
    redis.call('HDEL', k, 's\0' .. topics[i])
  end
end

-- Forgets a node that died or left: its watches, its presence entries (leave events go to the
-- nodes still interested), its connection count and its heartbeat. Its interest stays until
-- dropInterest, so that a node taken for dead while alive (a long pause) misses no topic entry
-- meanwhile; the sweep records when in the zset "gone". Idempotent.
local function dropNode(d, e)
  local widx = P .. 'n:' .. d .. ':w'
  local watched = redis.call('SMEMBERS', widx)
  for i = 1, #watched do
    redis.call('SREM', watchKey(watched[i]), d)
  end
  redis.call('DEL', widx)
  local pidx = P .. 'n:' .. d .. ':p'
  local entries = redis.call('SMEMBERS', pidx)
  for i = 1, #entries do
    local sep = string.find(entries[i], '\0', 1, true)
    local sid = string.sub(entries[i], 1, sep - 1)
    local topic = string.sub(entries[i], sep + 1)
    local v = redis.call('HGET', P .. 'p:' .. topic, sid)
    if v and string.sub(v, 1, #d + 1) == d .. '|' then
      redis.call('HDEL', P .. 'p:' .. topic, sid)
      presenceFanout(topic, frame('L', 0, e, {topic, sid, string.sub(v, #d + 2)}))
    end
  end
  redis.call('DEL', pidx)
  redis.call('HDEL', P .. 'conns', d)
  redis.call('ZREM', P .. 'nodes', d)
end

-- Removes node d from the interest of every topic: no more entries are sent to its channel.
local function dropInterest(d)
  local tidx = P .. 'n:' .. d .. ':t'
  local topics = redis.call('SMEMBERS', tidx)
  for i = 1, #topics do
    redis.call('HDEL', interestKey(topics[i]), d)
  end
  redis.call('DEL', tidx)
  redis.call('ZREM', P .. 'gone', d)
  -- Should d come back after all, reattach.lua counts its sessions in again (kept a week).
  redis.call('SET', P .. 'n:' .. d .. ':dropped', '1', 'PX', 604800000)
end

local function isLive(node, cache)
  local live = cache[node]
  if live == nil then
    live = redis.call('EXISTS', P .. 'n:' .. node) == 1
    cache[node] = live
  end
  return live
end


local function raiseTrimmed(meta, pos)
  local tg = tonumber(redis.call('HGET', meta, 'tg') or '0')
  if tonumber(pos) > tg then
    redis.call('HSET', meta, 'tg', pos)
  end
end

-- Publishes message m on topic: a reliable one ('1') is appended to the topic's history,
-- capped at maxLen entries (the trim point recorded), with the given TTLs in ms. Sends it to
-- every interested node. Returns its position (0 if volatile).
local function appendPublish(topic, reliable, m, maxLen, historyTtl, metaTtl, e)
  local pos = 0
  if reliable == '1' then
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
    redis.call('PEXPIRE', x, historyTtl)
    redis.call('HSET', meta, 'last', pos)
    redis.call('PEXPIRE', meta, metaTtl)
  end
  fanout(topic, frame('P', pos, e, {topic, m}))
  return pos
end

-- Sends message m to session sid: a reliable one ('1') is kept in the session's inbox, capped
-- at maxLen entries (the trim point recorded as the session's 'it', so that a read that needs
-- what was trimmed says so). Sends it to the owner node. Returns its position (0 if volatile),
-- or nil if there is no such session (or it ended).
local function appendSend(sid, reliable, m, maxLen, e)
  local k = sessionKey(sid)
  local h = redis.call('HMGET', k, 'o', 'x')
  if not h[1] or h[2] == '1' then return nil end
  local pos = 0
  if reliable == '1' then
    pos = redis.call('INCR', G)
    local ib = inboxKey(sid)
    redis.call('XADD', ib, int(pos) .. '-0', 'm', m)
    local len = redis.call('XLEN', ib)
    if len > maxLen then
      -- Sessions whose clients hold their position write no checkpoint that would trim it.
      local gone = redis.call('XRANGE', ib, '-', '+', 'COUNT', len - maxLen)
      local id = gone[#gone][1]
      redis.call('HSET', k, 'it', string.sub(id, 1, string.find(id, '-', 1, true) - 1))
      redis.call('XTRIM', ib, 'MAXLEN', maxLen)
    end
    local ttl = redis.call('PTTL', k)
    if ttl > 0 then redis.call('PEXPIRE', ib, ttl) end
  end
  redis.call('PUBLISH', nodeChannel(h[1]), frame('S', pos, e, {sid, m}))
  return pos
end

-- Subscribes session sid to topic (subscribe == true) or unsubscribes it; the marker goes to
-- the session's owner. An unsubscribed topic is kept as an ended subscription until a
-- checkpoint passes its end. Doing it twice changes nothing but repeats the marker. Returns
-- the marker's position, or nil if there is no such session (or it ended).
local function changeSubscription(sid, topic, subscribe, e)
  local k = sessionKey(sid)
  local h = redis.call('HMGET', k, 'o', 'x', 'pr')
  if not h[1] or h[2] == '1' then return nil end
  local g = redis.call('INCR', G)
  local f = 's\0' .. topic
  if subscribe then
    if redis.call('HSETNX', k, f, g) == 1 then
      interestAdd(topic, h[1])
      presenceJoin(topic, sid, h[1], h[3], e)
    end
  else
    local from = redis.call('HGET', k, f)
    if from then
      redis.call('HDEL', k, f)
      redis.call('HSET', k, 'u\0' .. from .. '\0' .. topic, g)
      presenceLeave(topic, sid, h[1], h[3], e)
      interestRemove(topic, h[1])
    end
  end
  redis.call('PUBLISH', nodeChannel(h[1]), frame(subscribe and 'U' or 'N', g, e, {sid, topic}))
  return g
end

-- Redis's clock in milliseconds.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
