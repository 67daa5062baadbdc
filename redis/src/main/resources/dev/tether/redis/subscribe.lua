-- Subscribes session ARGV[3] to topic ARGV[4] (changeSubscription in common.lua).
-- Returns {epoch, 1} if no such session (or ended), else {epoch, 0, position}.
local e = epoch()
local g = changeSubscription(ARGV[3], ARGV[4], true, e)
if not g then return {e, 1} end
return {e, 0, g}
