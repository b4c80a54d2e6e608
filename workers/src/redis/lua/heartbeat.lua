-- ARGV[3] new deadline ms, then key, attempt pairs. Returns how many leases were still held.
local deadline = ARGV[3]
local keys, attempts = {}, {}
for i = 4, #ARGV, 2 do
  keys[#keys + 1] = ARGV[i]
  attempts[#attempts + 1] = tonumber(ARGV[i + 1])
end
if #keys == 0 then return 0 end
local atts = redis.call('HMGET', k('att'), unpack(keys))
local zadd = {}
for i, key in ipairs(keys) do
  local n, _, _, st = parse_att(atts[i])
  if atts[i] and st == 'L' and n == attempts[i] then
    zadd[#zadd + 1] = deadline
    zadd[#zadd + 1] = key
  end
end
if #zadd > 0 then redis.call('ZADD', k('leases'), 'XX', unpack(zadd)) end
return #zadd / 2
