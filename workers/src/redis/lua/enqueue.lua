-- ARGV[4] dedupe window ms, ARGV[5] count, then per job: key, id, dedupe (1/0), lane code,
-- delay ms, kind, tail (`history|payload`). The record is built here because its due and enqueue
-- times come from this script's clock. Returns one 1 (queued) or 0 (duplicate) per job.
local window = ARGV[4]
local count = tonumber(ARGV[5])
local out = {}
local woke = false
for i = 0, count - 1 do
  local o = 6 + i * 7
  local key, id, dedupe, lane, delay = ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4]
  if dedupe == '1' and not redis.call('SET', k('seen:' .. id), '1', 'NX', 'PX', window) then
    out[#out + 1] = 0
  else
    local due = now_s
    if delay ~= '0' then due = tostring(now + tonumber(delay)) end
    local rec = lane .. '|' .. due .. '|' .. id .. '|' .. ARGV[o + 5] .. '|' .. now_s .. '|' .. ARGV[o + 6]
    depth_delta[lane] = depth_delta[lane] + 1
    -- Length 1: the key was idle, so this job decides where the key waits. Otherwise the key
    -- is already ready, leased or delayed, and the job waits behind the head.
    if redis.call('RPUSH', mbox(key), rec) == 1 then
      if delay ~= '0' then
        redis.call('ZADD', k('delayed'), due, key)
      else
        table.insert(ready_push[lane], key)
      end
      woke = true
    end
    out[#out + 1] = 1
  end
end
flush_ready()
flush_depth()
if woke then wake() end
return out
