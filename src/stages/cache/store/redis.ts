/**
 * The response cache in Redis (ioredis), shared by every gateway pointing at the same server or
 * cluster. Keys, under the configured prefix:
 *
 * - `cache:<primary>`: one hash per primary key (`<url>\u0000<rest>`, see `primaryKey`), the
 *   variants' metadata JSON and binary bodies side by side, plus an index field; it expires with
 *   its last variant;
 * - `cache-tag:<tag>`: a set of primary keys, its expiry at least the longest entry added;
 * - `cache-lock:<primary>`: a fill lock (`SET NX PX`, a random token).
 *
 * Every command touches one key (Redis Cluster: no cross-slot command, no hash tag); purge by
 * prefix SCANs every master. Errors reject (never hang: the client's command timeout applies;
 * the store does not queue or retry). The client is the caller's unless `ownsClient`.
 */
import { randomBytes } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import type { CacheStore, StoredResponse } from '../types.js';
import { checkPrimary, entryBytes, fromMeta, metaJson, positiveInt, URL_END, varyId } from './entry.js';
import { DELETE_SCRIPT, PURGE_TAG_SCRIPT, PUT_SCRIPT, RELEASE_SCRIPT, REMOVE_VARIANT_SCRIPT, runScript, TAG_ADD_SCRIPT } from './redis-scripts.js';

export interface RedisCacheStoreOptions {
  /** a connected ioredis client (the gateway's: command timeout set, offline queue off) */
  readonly client: Redis | Cluster;
  /** prepended to every key, e.g. `portcullis:` */
  readonly keyPrefix: string;
  /** close() quits the client (default false: the caller's client stays open) */
  readonly ownsClient?: boolean | undefined;
  /** entries counting more are not stored (default 1 MiB) */
  readonly maxEntryBytes?: number | undefined;
  /** variants kept per primary key; beyond it the oldest written goes (default 8) */
  readonly maxVariants?: number | undefined;
  /** SCAN COUNT per step of purgePrefix (default 500) */
  readonly scanCount?: number | undefined;
  /** ms since the epoch (default Date.now); variant expiry is checked against it */
  readonly now?: (() => number) | undefined;
}

/** Why 1 MiB: Redis serves one command at a time, and a multi-megabyte value stalls every other gateway's commands while it is copied. */
export const REDIS_DEFAULTS = { maxEntryBytes: 1024 * 1024, maxVariants: 8, scanCount: 500 } as const;

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

function ceilMs(ms: number): number {
  return Math.max(1, Math.ceil(ms));
}

export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis' as const;
  readonly client: Redis | Cluster;
  readonly maxEntryBytes: number;
  readonly maxVariants: number;
  private readonly entryPrefix: string;
  private readonly tagPrefix: string;
  private readonly lockPrefix: string;
  private readonly ownsClient: boolean;
  private readonly scanCount: number;
  private readonly now: () => number;

  constructor(opts: RedisCacheStoreOptions) {
    this.client = opts.client;
    this.entryPrefix = `${opts.keyPrefix}cache:`;
    this.tagPrefix = `${opts.keyPrefix}cache-tag:`;
    this.lockPrefix = `${opts.keyPrefix}cache-lock:`;
    this.ownsClient = opts.ownsClient ?? false;
    this.maxEntryBytes = positiveInt('maxEntryBytes', opts.maxEntryBytes, REDIS_DEFAULTS.maxEntryBytes);
    this.maxVariants = positiveInt('maxVariants', opts.maxVariants, REDIS_DEFAULTS.maxVariants);
    this.scanCount = positiveInt('scanCount', opts.scanCount, REDIS_DEFAULTS.scanCount);
    this.now = opts.now ?? Date.now;
  }

  async get(primary: string): Promise<readonly StoredResponse[]> {
    const h = await this.client.hgetallBuffer(this.entryPrefix + primary);
    const idx = h['i'];
    if (idx === undefined) return [];
    const now = this.now();
    const out: StoredResponse[] = [];
    for (const part of idx.toString('latin1').split(',')) {
      const colon = part.indexOf(':');
      const vid = part.slice(0, colon);
      if (colon < 1 || !(Number(part.slice(colon + 1)) > now)) continue;
      const meta = h[`m:${vid}`];
      const body = h[`b:${vid}`];
      if (meta === undefined || body === undefined) continue;
      const e = fromMeta(meta.toString('utf8'), body);
      if (e !== null) out.push(e);
    }
    return out;
  }

  async put(primary: string, entry: StoredResponse, ttlMs: number): Promise<void> {
    checkPrimary(primary, entry.url);
    const key = this.entryPrefix + primary;
    const vid = varyId(entry.vary);
    // whole ms: the index stores integers
    const now = Math.floor(this.now());
    if (!(ttlMs > 0 && ttlMs < Number.POSITIVE_INFINITY) || entryBytes(primary, entry) > this.maxEntryBytes) {
      // not stored; the variant it would have replaced is outdated by it, so it goes too
      await runScript(this.client, REMOVE_VARIANT_SCRIPT, key, [vid, now]);
      return;
    }
    const ttl = ceilMs(ttlMs);
    // the tag index first: an entry is never stored without its tags (a purge by tag would miss it)
    const tags = [...new Set(entry.tags)];
    if (tags.length > 0) await Promise.all(tags.map((t) => runScript(this.client, TAG_ADD_SCRIPT, this.tagPrefix + t, [primary, ttl])));
    await runScript(this.client, PUT_SCRIPT, key, [vid, now, now + ttl, this.maxVariants, metaJson(entry), entry.body]);
  }

  async delete(primary: string): Promise<number> {
    return Number(await runScript(this.client, DELETE_SCRIPT, this.entryPrefix + primary, [this.now()]));
  }

  /** SCAN MATCH `<prefix>cache:<urlPrefix>*` on every master, COUNT `scanCount` keys per step, each found key deleted. */
  async purgePrefix(urlPrefix: string): Promise<number> {
    const pattern = `${escapeGlob(this.entryPrefix + urlPrefix)}*`;
    const masters = this.client instanceof Cluster ? this.client.nodes('master') : [this.client as Redis];
    let n = 0;
    for (const node of masters) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', this.scanCount);
        cursor = next;
        const now = this.now();
        const dels: Promise<unknown>[] = [];
        for (const k of keys) {
          // the MATCH may reach past the URL into the rest of the key (a prefix holding NUL): the URL decides
          const end = k.indexOf(URL_END, this.entryPrefix.length);
          if (end < 0 || !k.slice(this.entryPrefix.length, end).startsWith(urlPrefix)) continue;
          dels.push(runScript(this.client, DELETE_SCRIPT, k, [now]));
        }
        for (const r of await Promise.all(dels)) n += Number(r);
      } while (cursor !== '0');
    }
    return n;
  }

  /** Drains the tag's set with SPOP (a primary key added meanwhile stays for the next purge), removing the tagged variants of each member. */
  async purgeTag(tag: string): Promise<number> {
    const set = this.tagPrefix + tag;
    let n = 0;
    for (;;) {
      const members = await this.client.spop(set, this.scanCount);
      if (members.length === 0) break;
      const now = this.now();
      const counts = await Promise.all(members.map((p) => runScript(this.client, PURGE_TAG_SCRIPT, this.entryPrefix + p, [tag, now])));
      for (const c of counts) n += Number(c);
    }
    return n;
  }

  /**
   * `SET <prefix>cache-lock:<primary> <token> NX PX ttlMs`: the release, or null when another
   * holder has it. The release deletes the lock only while it holds this token, and never
   * rejects (a release that fails leaves the lock to expire).
   */
  async lock(primary: string, ttlMs: number): Promise<(() => Promise<void>) | null> {
    const key = this.lockPrefix + primary;
    const token = randomBytes(16).toString('base64url');
    const ok = await this.client.set(key, token, 'PX', ceilMs(ttlMs), 'NX');
    if (ok !== 'OK') return null;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      try {
        await runScript(this.client, RELEASE_SCRIPT, key, [token]);
      } catch {
        // the lock expires after ttlMs
      }
    };
  }

  /** Not tracked: other gateways write the same keys, and Redis expires them; always zeros. */
  stats(): { bytes: number; entries: number } {
    return { bytes: 0, entries: 0 };
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
