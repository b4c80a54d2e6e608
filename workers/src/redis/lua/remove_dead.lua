-- ARGV[4..] dead-letter ids. Returns how many existed.
local removed = 0
for i = 4, #ARGV do
  removed = removed + redis.call('DEL', k('dead:' .. ARGV[i]))
  redis.call('ZREM', k('dead'), ARGV[i])
end
return removed
