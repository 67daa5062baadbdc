-- Sends ARGV[5] to session ARGV[3]; ARGV[4] '1' if reliable (kept in the session's inbox, at
-- most ARGV[6] entries). Returns {epoch, 1} if no such session (or ended), else {epoch, 0, position}.
local e = epoch()
local pos = appendSend(ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), e)
if not pos then return {e, 1} end
return {e, 0, pos}
