-- ARGV[3] new deadline ms, then key, attempt pairs. Returns how many leases were still held.
local deadline = ARGV[3]
local keys, prefixes = {}, {}
for i = 4, #ARGV, 2 do
  keys[#keys + 1] = ARGV[i]
  prefixes[#prefixes + 1] = ARGV[i + 1] .. '|L'
end
if #keys == 0 then return 0 end
local atts = redis.call('HMGET', k('att'), unpack(keys))
local zadd = {}
for i, key in ipairs(keys) do
  local entry = atts[i]
  if entry and sub(entry, 1, #prefixes[i]) == prefixes[i] then
    zadd[#zadd + 1] = deadline
    zadd[#zadd + 1] = key
  end
end
if #zadd > 0 then redis.call('ZADD', k('leases'), 'XX', unpack(zadd)) end
return #zadd / 2
