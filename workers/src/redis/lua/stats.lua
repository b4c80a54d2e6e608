-- Returns per lane h, n, l: depth, ready keys, enqueue ms of the front key's head (or -1);
-- then in-flight, delayed keys, dead letters, and the time used (ms).
-- Dead letters past their retention: the hashes expire by themselves, the index is trimmed here
-- (and at each burial), so a quiet queue's count stays true too.
redis.call('ZREMRANGEBYSCORE', k('dead'), '-inf', now - dead_ttl)
local out = {}
for _, lane in ipairs({'h', 'n', 'l'}) do
  out[#out + 1] = tonumber(redis.call('HGET', k('depth'), lane) or '0')
  out[#out + 1] = redis.call('LLEN', k('ready:' .. lane))
  local front = redis.call('LINDEX', k('ready:' .. lane), 0)
  local enq = -1
  if front then
    local head = redis.call('LINDEX', mbox(front), 0)
    if head then enq = tonumber(string.match(head, '^.|%d+|[^|]*|[^|]*|(%d+)|')) end
  end
  out[#out + 1] = enq
end
out[#out + 1] = redis.call('ZCOUNT', k('leases'), '-inf', '(+inf')
out[#out + 1] = redis.call('ZCARD', k('delayed'))
out[#out + 1] = redis.call('ZCARD', k('dead'))
out[#out + 1] = now
return out
