/**
 * Lua scripts of the Redis cache store. Each touches one key (Redis Cluster: one slot, no hash tag
 * needed). Run by EVALSHA, with EVAL when the server lost its script cache (`runScript`).
 *
 * An entry hash (`<prefix>cache:<primary>`) holds, per variant id `v`: `m:<v>` (metadata JSON)
 * and `b:<v>` (the body bytes), and one index field `i`: `v:exp,v:exp,...`, oldest written first,
 * exp in ms since the epoch (the gateways' clock). The key expires with its last variant.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

export interface Script {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Parses the index into `keep`, dropping (HDEL) variants that expired or whose id is ARGV[1].
 * Shared head of PUT and the variant removal.
 */
const READ_INDEX = `
local key = KEYS[1]
local vid = ARGV[1]
local now = tonumber(ARGV[2])
local keep = {}
local removed = 0
local idx = redis.call('HGET', key, 'i')
if idx then
  for v, e in string.gmatch(idx, '([^:,]+):(%d+)') do
    local exp = tonumber(e)
    if v == vid or exp <= now then
      redis.call('HDEL', key, 'm:' .. v, 'b:' .. v)
      if v == vid and exp > now then removed = removed + 1 end
    else
      keep[#keep + 1] = { v, exp }
    end
  end
end
`;

/** Writes the index from `keep` and the key's expiry (its last variant's), or deletes an empty key. */
const WRITE_INDEX = `
if #keep == 0 then
  redis.call('DEL', key)
  return 0
end
local parts = {}
local last = now + 1
for j, k in ipairs(keep) do
  parts[j] = k[1] .. ':' .. string.format('%.0f', k[2])
  if k[2] > last then last = k[2] end
end
redis.call('HSET', key, 'i', table.concat(parts, ','))
redis.call('PEXPIRE', key, string.format('%.0f', last - now))
return #keep
`;

/**
 * Stores one variant, replacing the one with the same id, dropping expired ones and, beyond the
 * limit, the oldest. KEYS[1]: entry hash; ARGV: variant id, now, exp, max variants, meta, body.
 * Returns the number of variants kept.
 */
export const PUT_SCRIPT = script(`${READ_INDEX}
local max = tonumber(ARGV[4])
redis.call('HSET', key, 'm:' .. vid, ARGV[5], 'b:' .. vid, ARGV[6])
keep[#keep + 1] = { vid, tonumber(ARGV[3]) }
while #keep > max do
  local old = table.remove(keep, 1)
  redis.call('HDEL', key, 'm:' .. old[1], 'b:' .. old[1])
end
${WRITE_INDEX}`);

/** Removes one variant (and expired ones). KEYS[1]: entry hash; ARGV: variant id, now. Returns the variants kept. */
export const REMOVE_VARIANT_SCRIPT = script(`${READ_INDEX}
${WRITE_INDEX}`);

/** Deletes an entry hash. KEYS[1]; ARGV[1]: now. Returns the number of live variants it held. */
export const DELETE_SCRIPT = script(`
local idx = redis.call('HGET', KEYS[1], 'i')
local n = 0
if idx then
  local now = tonumber(ARGV[1])
  for v, e in string.gmatch(idx, '([^:,]+):(%d+)') do
    if tonumber(e) > now then n = n + 1 end
  end
end
redis.call('DEL', KEYS[1])
return n
`);

/**
 * Removes the variants whose metadata lists tag ARGV[1] (and expired ones). KEYS[1]: entry hash;
 * ARGV: tag, now. Returns the number of live variants removed.
 */
export const PURGE_TAG_SCRIPT = script(`
local key = KEYS[1]
local tag = ARGV[1]
local now = tonumber(ARGV[2])
local idx = redis.call('HGET', key, 'i')
if not idx then return 0 end
local keep = {}
local removed = 0
for v, e in string.gmatch(idx, '([^:,]+):(%d+)') do
  local exp = tonumber(e)
  local drop = exp <= now
  if not drop then
    local ok, meta = pcall(cjson.decode, redis.call('HGET', key, 'm:' .. v) or 'null')
    if ok and type(meta) == 'table' and type(meta.t) == 'table' then
      for _, t in ipairs(meta.t) do
        if t == tag then drop = true end
      end
    end
    if drop then removed = removed + 1 end
  end
  if drop then
    redis.call('HDEL', key, 'm:' .. v, 'b:' .. v)
  else
    keep[#keep + 1] = { v, exp }
  end
end
if #keep == 0 then
  redis.call('DEL', key)
else
  local parts = {}
  for j, k in ipairs(keep) do parts[j] = k[1] .. ':' .. string.format('%.0f', k[2]) end
  redis.call('HSET', key, 'i', table.concat(parts, ','))
end
return removed
`);

/** SADD with an expiry that only grows. KEYS[1]: tag set; ARGV: member, ttl ms. */
export const TAG_ADD_SCRIPT = script(`
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`);

/** Deletes a lock only while it still holds the caller's token. KEYS[1]: lock; ARGV[1]: token. */
export const RELEASE_SCRIPT = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** EVALSHA, and EVAL when the server answers NOSCRIPT (restarted, or SCRIPT FLUSH). */
export async function runScript(client: Redis | Cluster, s: Script, key: string, args: readonly (string | Buffer | number)[]): Promise<unknown> {
  try {
    return await client.evalsha(s.sha, 1, key, ...args);
  } catch (e) {
    if (!(e instanceof Error && e.message.startsWith('NOSCRIPT'))) throw e;
    return await client.eval(s.lua, 1, key, ...args);
  }
}
