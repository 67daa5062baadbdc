-- Reads the feed of session ARGV[3] in (ARGV[4], ARGV[5]] as its record describes it; ARGV[6]
-- the epoch the reader knows ('' if none), ARGV[7] the most entries, then per subscription:
-- topic, from, to ('max' while current).
-- Returns {epoch, reason} when incomplete, else {epoch, '', then per source: 't<topic>' (or 'i'
-- for the inbox), entry count, then per entry its id and its message bytes}.
local e = epoch()
if ARGV[6] ~= '' and ARGV[6] ~= e then return {e, 'reset'} end
local sid = ARGV[3]
local after, max = tonumber(ARGV[4]), tonumber(ARGV[7])
local g = tonumber(redis.call('GET', G) or '0')
if after > g then return {e, 'reset'} end
local upTo = math.min(tonumber(ARGV[5]), g)
local k = sessionKey(sid)
local h = redis.call('HMGET', k, 'e', 'it')
if h[1] and h[1] ~= e then return {e, 'reset'} end
local out = {e, ''}
local n = 0

local function add(topic, entries)
  n = n + #entries
  if n > max then return false end
  out[#out + 1] = topic
  out[#out + 1] = #entries
  for i = 1, #entries do
    out[#out + 1] = entries[i][1]
    out[#out + 1] = entries[i][2][2]
  end
  return true
end

for i = 8, #ARGV, 3 do
  local topic = ARGV[i]
  local from = math.max(after, tonumber(ARGV[i + 1]))
  local to = upTo
  if ARGV[i + 2] ~= 'max' then to = math.min(upTo, tonumber(ARGV[i + 2])) end
  if to > from then
    local meta = P .. 't:' .. topic .. ':m'
    local m = redis.call('HMGET', meta, 'tg', 'last')
    if tonumber(m[1] or '0') > from then return {e, 'trimmed'} end
    local x = P .. 't:' .. topic .. ':x'
    if redis.call('EXISTS', x) == 0 then
      if tonumber(m[2] or '0') > from then return {e, 'expired'} end
    else
      local got = redis.call('XRANGE', x, int(from + 1), int(to), 'COUNT', max - n + 1)
      if not add('t' .. topic, got) then return {e, 'too_many'} end
    end
  end
end
if upTo > after then
  if tonumber(h[2] or '0') > after then return {e, 'trimmed'} end
  local got = redis.call('XRANGE', inboxKey(sid), int(after + 1), int(upTo), 'COUNT', max - n + 1)
  if not add('i', got) then return {e, 'too_many'} end
end
return out
