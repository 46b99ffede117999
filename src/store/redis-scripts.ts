/**
 * Lua scripts of the Redis store. LIMIT is the transcription of decide.ts: it reads every check of
 * one request, decides them all, and writes only when every enforced check passed, in one atomic
 * EVALSHA. Numbers go in as strings and come back as integers (Redis truncates Lua numbers).
 *
 * KEYS[i]: one key per check (all in one cluster slot: the store gives them one {hash tag}).
 * ARGV[1]: now (ms), ARGV[2]: lease id, then 4 per check: kind (b|q|c), enforce (1|0), a, b
 *   b: a = interval ms (float), b = burst
 *   q: a = limit, b = resetAt (ms since epoch)
 *   c: a = max in flight, b = lease ms
 * Returns { allowed, then per check: ok, remaining, ceil(resetMs), ceil(retryMs) }.
 *
 * A bucket key expires 10 s after its bucket is full again: the margin covers clock skew between
 * gateways (a gateway whose clock is behind must still see the state), at the cost of idle keys
 * living 10 s longer.
 */
export const LIMIT_SCRIPT = `
local now = tonumber(ARGV[1])
local lease = ARGV[2]
local n = #KEYS
local out = { 1 }
local nxt = {}
local allowed = 1
for i = 1, n do
  local p = 2 + (i - 1) * 4
  local kind = ARGV[p + 1]
  local enforce = ARGV[p + 2] == '1'
  local a = tonumber(ARGV[p + 3])
  local b = tonumber(ARGV[p + 4])
  local ok, rem, reset, retry
  if kind == 'b' then
    local tat = tonumber(redis.call('GET', KEYS[i]) or now)
    if tat < now then tat = now end
    local newTat = tat + a
    local allowAt = newTat - b * a
    if now < allowAt then
      ok = 0; rem = 0; reset = tat - now; retry = allowAt - now
    else
      ok = 1; rem = math.floor((now - allowAt) / a + 1e-9); reset = newTat - now; retry = 0
      nxt[i] = newTat
    end
  elseif kind == 'q' then
    local c = tonumber(redis.call('GET', KEYS[i]) or '0')
    reset = b - now
    if reset < 0 then reset = 0 end
    if c >= a then
      ok = 0; rem = 0; retry = reset
    else
      ok = 1; rem = a - c - 1; retry = 0
      nxt[i] = c + 1
    end
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    local c = redis.call('ZCARD', KEYS[i])
    reset = 0
    if c >= a then
      ok = 0; rem = 0; retry = 1000
    else
      ok = 1; rem = a - c - 1; retry = 0
      nxt[i] = now + b
    end
  end
  if ok == 0 and enforce then allowed = 0 end
  local q = 2 + (i - 1) * 4
  out[q] = ok
  out[q + 1] = rem
  out[q + 2] = math.ceil(reset)
  out[q + 3] = math.ceil(retry)
end
out[1] = allowed
if allowed == 1 then
  for i = 1, n do
    local v = nxt[i]
    if v then
      local p = 2 + (i - 1) * 4
      local kind = ARGV[p + 1]
      if kind == 'b' then
        redis.call('SET', KEYS[i], string.format('%.17g', v), 'PX', math.ceil(v - now) + 10000)
      elseif kind == 'q' then
        redis.call('SET', KEYS[i], string.format('%d', v), 'PXAT', math.ceil(tonumber(ARGV[p + 4])) + 60000)
      else
        redis.call('ZADD', KEYS[i], v, lease)
        redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[p + 4])) + 1000)
      end
    end
  end
end
return out
`;

/** INCRBY with an expiry set on the first increment. KEYS[1]; ARGV: by, ttl ms. */
export const INCR_SCRIPT = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v
`;

/**
 * Gives back what LIMIT committed, on Redis Cluster when another check of the same request (on
 * another master, or one decided locally) refused it. KEYS[i]: the committed checks' keys (one slot).
 * ARGV[1]: now (ms), ARGV[2]: lease id, then 2 per key: kind (b|q|c), interval ms (b; else unused).
 *   b: the TAT moves back one interval (a TAT at or before now is a full bucket: the key goes)
 *   q: the count goes down by one (its expiry is kept)
 *   c: the lease's slot goes
 */
export const GIVE_BACK_SCRIPT = `
local now = tonumber(ARGV[1])
local lease = ARGV[2]
for i = 1, #KEYS do
  local p = 2 + (i - 1) * 2
  local kind = ARGV[p + 1]
  if kind == 'b' then
    local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
    local t = tat - tonumber(ARGV[p + 2])
    if t <= now then
      redis.call('DEL', KEYS[i])
    else
      redis.call('SET', KEYS[i], string.format('%.17g', t), 'PX', math.ceil(t - now) + 10000)
    end
  elseif kind == 'q' then
    if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
  else
    redis.call('ZREM', KEYS[i], lease)
  end
end
return 1
`;
