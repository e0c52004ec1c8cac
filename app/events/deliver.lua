-- Deliver one outbox event to a user's live stream, exactly once per outbox id.
-- KEYS[1] backlog (sorted set: score = stream id, member = message JSON)
-- KEYS[2] outbox id -> stream id map (hash; bounded with the backlog)
-- KEYS[3] stream id counter (never expires, so ids only grow)
-- ARGV: outbox_id, event, data, channel, backlog_size, ttl_seconds, now_unix
local known = redis.call('HGET', KEYS[2], ARGV[1])
if known then
  return {tonumber(known), 0}
end
local seq = redis.call('INCR', KEYS[3])
local message = cjson.encode({id = seq, outbox = tonumber(ARGV[1]), event = ARGV[2], data = ARGV[3], ts = tonumber(ARGV[7])})
redis.call('ZADD', KEYS[1], seq, message)
redis.call('HSET', KEYS[2], ARGV[1], seq)
local size = redis.call('ZCARD', KEYS[1])
local keep = tonumber(ARGV[5])
if size > keep then
  local dropped = redis.call('ZRANGE', KEYS[1], 0, size - keep - 1)
  for _, old in ipairs(dropped) do
    redis.call('HDEL', KEYS[2], tostring(cjson.decode(old).outbox))
  end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, size - keep - 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('PUBLISH', ARGV[4], message)
return {seq, 1}
