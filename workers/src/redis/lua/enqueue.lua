-- ARGV[3] dedupe window ms, ARGV[4] count, then per job: key, id, dedupe (1/0), record.
-- Returns one 1 (queued) or 0 (duplicate) per job.
local window = ARGV[3]
local count = tonumber(ARGV[4])
local out = {}
local woke = false
for i = 0, count - 1 do
  local o = 5 + i * 4
  local key, id, dedupe, rec = ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3]
  if dedupe == '1' and not redis.call('SET', k('seen:' .. id), '1', 'NX', 'PX', window) then
    out[#out + 1] = 0
  else
    local lane = lane_of(rec)
    depth_delta[lane] = depth_delta[lane] + 1
    -- Length 1: the key was idle, so this job decides where the key waits. Otherwise the key
    -- is already ready, leased or delayed, and the job waits behind the head.
    if redis.call('RPUSH', mbox(key), rec) == 1 then
      local due = due_str(rec)
      if tonumber(due) > now then
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
