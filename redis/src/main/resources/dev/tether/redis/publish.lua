-- Publishes a batch in order. ARGV[3] max stream length, ARGV[4] history TTL ms, ARGV[5] meta
-- TTL ms, then per publish: topic, reliable ('1' or '0'), message bytes.
-- Returns {epoch, position of each publish (0 if volatile)}.
local maxLen = tonumber(ARGV[3])
local e = epoch()
local out = {e}
for i = 6, #ARGV, 3 do
  out[#out + 1] = appendPublish(ARGV[i], ARGV[i + 1], ARGV[i + 2], maxLen, ARGV[4], ARGV[5], e)
end
return out
