-- ARGV[4] lease ms, then key, token pairs. Returns 1 (renewed) or 0 (lease not held) per pair.
local deadline = tostring(now + tonumber(ARGV[4]))
local keys, toks = {}, {}
for i = 5, #ARGV, 2 do
  keys[#keys + 1] = ARGV[i]
  toks[#toks + 1] = ARGV[i + 1]
end
if #keys == 0 then return {} end
local atts = redis.call('HMGET', k('att'), unpack(keys))
local zadd, out = {}, {}
for i, key in ipairs(keys) do
  if holds(atts[i], toks[i]) then
    zadd[#zadd + 1] = deadline
    zadd[#zadd + 1] = key
    out[i] = 1
  else
    out[i] = 0
  end
end
if #zadd > 0 then redis.call('ZADD', k('leases'), 'XX', unpack(zadd)) end
return out
