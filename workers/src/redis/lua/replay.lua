-- ARGV[4] lane override ('' keeps each letter's lane), then old id, new id pairs.
-- Returns old id, new id, lane for each dead letter replayed.
local override = ARGV[4]
local out = {}
local woke = false
for i = 5, #ARGV, 2 do
  local old, new = ARGV[i], ARGV[i + 1]
  local f = redis.call('HMGET', k('dead:' .. old), 'lane', 'key', 'kind', 'payload', 'history')
  if f[1] then
    local lane = f[1]
    if override ~= '' then lane = override end
    local hist = f[5]
    if hist == '' then hist = old else hist = hist .. ',' .. old end
    local rec = lane .. '|' .. now_s .. '|' .. new .. '|' .. f[3] .. '|' .. now_s .. '|' .. hist .. '|' .. f[4]
    depth_delta[lane] = depth_delta[lane] + 1
    if redis.call('RPUSH', mbox(f[2]), rec) == 1 then
      table.insert(ready_push[lane], f[2])
      woke = true
    end
    redis.call('DEL', k('dead:' .. old))
    redis.call('ZREM', k('dead'), old)
    out[#out + 1] = old
    out[#out + 1] = new
    out[#out + 1] = lane
  end
end
flush_ready()
flush_depth()
if woke then wake() end
return out
