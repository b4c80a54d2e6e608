-- Shared by every script. ARGV[1] is the key base `<prefix>:{<prefix>}`, ARGV[2] "now" in ms or
-- '' for Redis' own clock (TIME), ARGV[3] how long dead letters are kept, ms. Hosts never send
-- their own wall clock: leases and due times follow one clock, Redis', so a host whose clock is
-- off cannot steal a live lease or delay a job. Only tests send a time (a manual clock). Scripts
-- that call TIME and then write rely on effects replication (the only mode since Redis 7).
-- Every key a script touches starts with the base, so all share one hash tag and cluster slot.
-- A record (a queued job) is `lane|due_ms|id|kind|enqueued_ms|history|payload`.
-- Hot paths avoid string.match and number-to-text conversions, which cost more redis-server CPU
-- per job than the Redis commands themselves: timestamps stay text where they only travel.
local base = ARGV[1]
local now_s = ARGV[2]
if now_s == '' then
  local t = redis.call('TIME')
  now_s = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
end
local now = tonumber(now_s)
local dead_ttl = tonumber(ARGV[3])
local sub, find = string.sub, string.find
local function k(name) return base .. ':' .. name end
local function mbox(key) return base .. ':mbox:' .. key end
local function lane_of(rec) return sub(rec, 1, 1) end
local function due_str(rec) return sub(rec, 3, find(rec, '|', 3, true) - 1) end

-- An attempts entry is `n|S<hint lane>|<hint due>|first_ms|last_ms[|token]`. S is L (leased) or
-- W (waiting); a leased entry ends with its lease's token. The hint is the lane (or `-`) and due
-- time of the job behind the head, seen at lease time, so settling skips a read. It stays true
-- until this lease settles, because only the lease holder (fenced) or the reclaim (which rewrites
-- the entry) pops the mailbox.
local function parse_att(v)
  if not v then return 0, now_s, now_s, 'W', nil, nil end
  local n, st, hl, hd, first, last = string.match(v, '^(%d+)|(%a)(.)|(%d*)|(%d+)|(%d+)')
  if hl == '-' then
    hl, hd = nil, nil
  else
    hd = tonumber(hd)
  end
  return tonumber(n), first, last, st, hl, hd
end
local function waiting_att(n, first, last) return n .. '|W-||' .. first .. '|' .. last end

-- Fencing: whether `entry` is a lease holding token `tok` (a string). Tokens come from one
-- counter per queue, so a token names one lease of one job: an ack or heartbeat of a lease that
-- expired (and was maybe handed out again, or the key moved on to its next job) never matches.
-- Returns the position of the first `|` (for reading the hint) when it holds.
local function holds(entry, tok)
  if not entry then return nil end
  local p = find(entry, '|', 1, true)
  if not p or sub(entry, p + 1, p + 1) ~= 'L' then return nil end
  if sub(entry, -#tok - 1) ~= '|' .. tok then return nil end
  return p
end

-- Small hashes and zsets are stored as listpacks, where each insert or lookup scans the whole
-- key: with a batch of 32 leases that made ZADD/HSET/HMGET quadratic and cost more CPU than the
-- rest of the script. One member longer than 64 bytes converts `leases` and `att` to a skiplist
-- and a hash table for good (Redis never converts back), with no server configuration. It sits
-- at score +inf, so it never expires, and no job key can be leased under it.
local SENTINEL = '~encoding-sentinel~keeps-this-key-a-hashtable-or-skiplist~not-a-job-key~~~~~~~~~~'

local ready_push = {h = {}, n = {}, l = {}}
local depth_delta = {h = 0, n = 0, l = 0}

-- Puts `key` where its head job waits: a ready lane (queued for flush_ready) or the delayed set.
local function schedule(key)
  local head = redis.call('LINDEX', mbox(key), 0)
  if not head then return false end
  local due = due_str(head)
  if tonumber(due) > now then
    redis.call('ZADD', k('delayed'), due, key)
    return false
  end
  table.insert(ready_push[lane_of(head)], key)
  return true
end

-- One RPUSH per lane for all keys readied by this call; true if any.
local function flush_ready()
  local any = false
  for lane, keys in pairs(ready_push) do
    if #keys > 0 then
      redis.call('RPUSH', k('ready:' .. lane), unpack(keys))
      ready_push[lane] = {}
      any = true
    end
  end
  return any
end

local function flush_depth()
  for lane, d in pairs(depth_delta) do
    if d ~= 0 then redis.call('HINCRBY', k('depth'), lane, d) end
  end
end

-- Wakes one blocked consumer; the token list stays short, so spurious wakes stay cheap.
local function wake()
  if redis.call('LLEN', KEYS[1]) < 16 then redis.call('RPUSH', KEYS[1], '1') end
end

-- Removes the head job of `key` and schedules the next one.
local function advance(key)
  local head = redis.call('LPOP', mbox(key))
  if head then depth_delta[lane_of(head)] = depth_delta[lane_of(head)] - 1 end
  return schedule(key)
end

-- Like advance, with the next job already known from the lease-time hint.
local function advance_known(key, next_lane, next_due)
  if not next_lane then return advance(key) end
  local head = redis.call('LPOP', mbox(key))
  if head then depth_delta[lane_of(head)] = depth_delta[lane_of(head)] - 1 end
  if next_due > now then
    redis.call('ZADD', k('delayed'), next_due, key)
    return false
  end
  table.insert(ready_push[next_lane], key)
  return true
end

-- Stores the head job of `key` as a dead letter (the caller advances the key).
local function bury(key, class, err, n, first, last)
  local head = redis.call('LINDEX', mbox(key), 0)
  if not head then return end
  local lane, id, kind, enq, hist, payload =
    string.match(head, '^(.)|%d+|([^|]*)|([^|]*)|(%d+)|([^|]*)|(.*)$')
  redis.call('HSET', k('dead:' .. id), 'id', id, 'lane', lane, 'key', key, 'kind', kind,
    'payload', payload, 'error', err, 'class', class, 'attempts', n, 'enqueued', enq,
    'first', first, 'last', last, 'dead', now_s, 'history', hist)
  redis.call('PEXPIRE', k('dead:' .. id), dead_ttl)
  redis.call('ZADD', k('dead'), now_s, id)
  -- The index forgets letters whose hash has expired (see stats.lua for quiet queues).
  redis.call('ZREMRANGEBYSCORE', k('dead'), '-inf', now - dead_ttl)
end
