// Lua run by Redis itself: each script is one atomic step however many controllers and workers call it at once
// (Redis runs scripts one at a time), which is what WATCH/MULTI on a shared connection cannot promise.
// Time comes from the server (TIME), so controllers with skewed clocks agree on when a lease lapses.

/**
 * KEYS[1] slots zset of the tenant (member rule id, score = lease expiry in ms, or +inf while a stored rule holds it)
 * ARGV cap, leaseMs, ruleId → { granted 0|1, used }
 */
export const CLAIM_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local used = redis.call('ZCARD', KEYS[1])
local score = redis.call('ZSCORE', KEYS[1], ARGV[3])
if score then
  if score ~= 'inf' then redis.call('ZADD', KEYS[1], now + lease, ARGV[3]) end
  return {1, used}
end
if used >= cap then return {0, used} end
redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
return {1, used + 1}
`;

/**
 * KEYS[1] rules hash, KEYS[2] slots zset of the rule's tenant
 * ARGV ruleId, record JSON. The record and its slot go in together: a stored rule always holds its slot.
 */
export const PUT_RULE = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 'inf', ARGV[1])
return 1
`;

/** KEYS[1] rules hash, ARGV ruleId, key prefix for slots. The record goes, its slot is given back. */
export const REMOVE_RULE = `
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return 0 end
local tenant = cjson.decode(json)['rule']['tenant']
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', ARGV[2] .. tenant, ARGV[1])
return 1
`;
