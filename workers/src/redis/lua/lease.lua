-- ARGV[4] max jobs, ARGV[5] lease ms, ARGV[6] max attempts, ARGV[7..9] lane weights h n l.
-- Returns {next_wake_ms or -1, dead_lettered, now_ms, key, record, attempt, first_ms, token, ...}.
local max = tonumber(ARGV[4])
local lease_ms = tonumber(ARGV[5])
local max_att = tonumber(ARGV[6])
local weights = {tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])}
local lanes = {'h', 'n', 'l'}
local buried = 0

-- Due delayed keys become ready.
local due = redis.call('ZRANGEBYSCORE', k('delayed'), '-inf', now, 'LIMIT', 0, 1000)
if #due > 0 then
  redis.call('ZREM', k('delayed'), unpack(due))
  for _, key in ipairs(due) do schedule(key) end
end

-- Expired leases: the consumer died or stalled. The attempt already counted when it was leased;
-- after max_attempts the job is dead-lettered instead of killing yet another consumer.
local expired = redis.call('ZRANGEBYSCORE', k('leases'), '-inf', now, 'LIMIT', 0, 1000)
if #expired > 0 then
  redis.call('ZREM', k('leases'), unpack(expired))
  local atts = redis.call('HMGET', k('att'), unpack(expired))
  for i, key in ipairs(expired) do
    local n, first, last = parse_att(atts[i])
    if n >= max_att then
      bury(key, 'lease_expired', 'lease expired on attempt ' .. n .. ' of ' .. max_att, n, first, last)
      redis.call('HDEL', k('att'), key)
      advance(key)
      buried = buried + 1
    else
      redis.call('HSET', k('att'), key, waiting_att(n, first, last))
      schedule(key)
    end
  end
end
flush_ready()

local out = {-1, 0, now_s}
local lens, total = {}, 0
for i = 1, 3 do
  lens[i] = redis.call('LLEN', k('ready:' .. lanes[i]))
  total = total + lens[i]
end
local taken = 0
if total > 0 and max > 0 then
  local take = {0, 0, 0}
  local backlogged = 0
  for i = 1, 3 do
    if lens[i] > 0 then backlogged = backlogged + 1 end
  end
  if backlogged == 1 then
    -- One lane alone: every pick is that lane and its credit would not change, so skip the
    -- round-robin state entirely.
    for i = 1, 3 do
      if lens[i] > 0 then take[i] = math.min(max, lens[i]) end
    end
  else
    -- Smooth weighted round robin (see weights.rs); credits persist between calls.
    local credit = {0, 0, 0}
    local saved = redis.call('GET', k('wrr'))
    if saved then
      local a, b, c = string.match(saved, '^(-?%d+),(-?%d+),(-?%d+)$')
      credit = {tonumber(a), tonumber(b), tonumber(c)}
    end
    for _ = 1, math.min(max, total) do
      local best, sum = nil, 0
      for i = 1, 3 do
        if lens[i] > take[i] then
          credit[i] = credit[i] + weights[i]
          sum = sum + weights[i]
          if not best or credit[i] > credit[best] then best = i end
        end
      end
      credit[best] = credit[best] - sum
      take[best] = take[best] + 1
    end
    redis.call('SET', k('wrr'), credit[1] .. ',' .. credit[2] .. ',' .. credit[3])
  end

  local keys = {}
  for i = 1, 3 do
    if take[i] > 0 then
      for _, key in ipairs(redis.call('LPOP', k('ready:' .. lanes[i]), take[i])) do
        keys[#keys + 1] = key
      end
    end
  end
  taken = #keys
  local atts = {}
  if taken > 0 then atts = redis.call('HMGET', k('att'), unpack(keys)) end
  local hset, zadd = {}, {}
  local deadline = tostring(now + lease_ms)
  -- One fencing token per lease from one counter per queue: INCRBY reserves the whole batch.
  local tok = 0
  if taken > 0 then tok = redis.call('INCRBY', k('tokens'), taken) - taken end
  for i, key in ipairs(keys) do
    local pair = redis.call('LRANGE', mbox(key), 0, 1)
    local head = pair[1]
    if head then
      -- A first attempt (no entry yet) is the common case and needs no parsing.
      local n, n_s, first = 1, '1', now_s
      if atts[i] then
        local prev, prev_first = parse_att(atts[i])
        n, first = prev + 1, prev_first
        n_s = tostring(n)
      end
      local hint = '-|'
      local behind = pair[2]
      if behind then hint = lane_of(behind) .. '|' .. due_str(behind) end
      local tok_s = tostring(tok + i)
      hset[#hset + 1] = key
      hset[#hset + 1] = n_s .. '|L' .. hint .. '|' .. first .. '|' .. now_s .. '|' .. tok_s
      zadd[#zadd + 1] = deadline
      zadd[#zadd + 1] = key
      out[#out + 1] = key
      out[#out + 1] = head
      out[#out + 1] = n
      out[#out + 1] = first
      out[#out + 1] = tok_s
    end
  end
  if #hset > 0 then
    hset[#hset + 1] = SENTINEL
    hset[#hset + 1] = '-'
    zadd[#zadd + 1] = '+inf'
    zadd[#zadd + 1] = SENTINEL
    redis.call('HSET', k('att'), unpack(hset))
    redis.call('ZADD', k('leases'), unpack(zadd))
  end
end
-- More ready than taken: let another consumer (maybe in another process) take the rest.
if total > taken then wake() end
if (#out - 3) / 5 < max then
  local d = redis.call('ZRANGE', k('delayed'), 0, 0, 'WITHSCORES')
  local l = redis.call('ZRANGE', k('leases'), 0, 0, 'WITHSCORES')
  local nw = -1
  if d[2] then nw = tonumber(d[2]) end
  if l[2] and l[1] ~= SENTINEL and (nw < 0 or tonumber(l[2]) < nw) then nw = tonumber(l[2]) end
  out[1] = nw
end
out[2] = buried
flush_depth()
return out
