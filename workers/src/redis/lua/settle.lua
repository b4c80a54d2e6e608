-- ARGV[4] count, then per ack: key, token, code (D done, R retry, W defer, X dead, F release),
-- a, b. R/W: a = due ms. X: a = error class, b = error text. Returns 1 (applied) or 0 (stale)
-- per ack.
local count = tonumber(ARGV[4])
local keys = {}
for i = 0, count - 1 do keys[#keys + 1] = ARGV[5 + i * 5] end
local atts = redis.call('HMGET', k('att'), unpack(keys))
local out, zrem, hdel = {}, {}, {}
local settled = {}
local woke = false
for i = 0, count - 1 do
  local o = 5 + i * 5
  local key, code = ARGV[o], ARGV[o + 2]
  local entry = atts[i + 1]
  -- Fencing: only the holder of the current lease may settle it, once. A lease that expired
  -- (and was maybe handed out again, or the key moved on) has another token or none; a second
  -- ack of the same key in this batch finds the entry it read already settled.
  local p = nil
  if not settled[key] then p = holds(entry, ARGV[o + 1]) end
  if p then
    settled[key] = true
    out[#out + 1] = 1
    zrem[#zrem + 1] = key
    if code == 'D' then
      hdel[#hdel + 1] = key
      local next_lane = sub(entry, p + 2, p + 2)
      if next_lane == '-' then
        advance(key)
      else
        local stop = find(entry, '|', p + 4, true)
        advance_known(key, next_lane, tonumber(sub(entry, p + 4, stop - 1)))
      end
    else
      local n, first, last, _, next_lane, next_due = parse_att(entry)
      if code == 'X' then
        bury(key, ARGV[o + 3], ARGV[o + 4], n, first, last)
        hdel[#hdel + 1] = key
        advance_known(key, next_lane, next_due)
      elseif code == 'R' or code == 'W' then
        -- A deferral (W) gives the attempt back: waiting on a rate limit is not failing.
        if code == 'W' then n = n - 1 end
        redis.call('HSET', k('att'), key, waiting_att(n, first, last))
        local due = ARGV[o + 3]
        if tonumber(due) > now then
          redis.call('ZADD', k('delayed'), due, key)
          -- Idle consumers learn the new due time when they wake and lease.
          woke = true
        else
          schedule(key)
        end
      else
        redis.call('HSET', k('att'), key, waiting_att(n - 1, first, last))
        local head = redis.call('LINDEX', mbox(key), 0)
        if head then
          redis.call('LPUSH', k('ready:' .. lane_of(head)), key)
          woke = true
        end
      end
    end
  else
    out[#out + 1] = 0
  end
end
if #zrem > 0 then redis.call('ZREM', k('leases'), unpack(zrem)) end
if #hdel > 0 then redis.call('HDEL', k('att'), unpack(hdel)) end
if flush_ready() or woke then wake() end
flush_depth()
return out
