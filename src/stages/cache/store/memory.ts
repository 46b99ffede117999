/**
 * The in-process response cache: bounded in counted bytes (`entryBytes`) and per entry, exact
 * least-recently-used eviction over primary keys, at most `maxVariants` variants per primary key,
 * per-variant expiry, a tag index for purge by tag.
 *
 * The hot path is `get`: one Map lookup, one expiry comparison, a list splice, and the slot's own
 * array returned as is (no promise, no copy). Slot arrays are copy-on-write: `put` and the
 * removals build new arrays, so an array handed out by `get` never changes under its reader.
 */
import type { CacheStore, StoredResponse } from '../types.js';
import { checkPrimary, entryBytes, positiveInt, sameVary } from './entry.js';

/** Why entries left without being deleted or purged: over `maxBytes`, over `maxVariants`, or past their ttl. */
export type EvictReason = 'capacity' | 'variants' | 'expired';

export interface MemoryCacheStoreOptions {
  /** the bound on counted bytes of all entries (default 64 MiB) */
  readonly maxBytes?: number | undefined;
  /** entries counting more are not stored (default 4 MiB, at most maxBytes) */
  readonly maxEntryBytes?: number | undefined;
  /** variants kept per primary key; beyond it the oldest written goes (default 8) */
  readonly maxVariants?: number | undefined;
  /** called after entries were evicted (not for delete or purge), for metrics */
  readonly onEvict?: ((count: number, bytes: number, reason: EvictReason) => void) | undefined;
  /** ms since the epoch (default Date.now) */
  readonly now?: (() => number) | undefined;
}

/**
 * What a live entry costs this process, which `maxBytes` bounds: its bytes (entryBytes: body,
 * header names and values, keys) plus the JS objects holding them, about 1 KiB more than
 * entryBytes counts (heap snapshot of a gateway holding 30,000 ~1 KB responses). What churn costs
 * on top (evicted entries awaiting the garbage collector) is measured by
 * `npm run bench -- --scenarios cache-memory`, in bench/results.md.
 */
const OBJECT_BYTES = 1024;
export function entryCost(primary: string, e: StoredResponse): number {
  return entryBytes(primary, e) + OBJECT_BYTES;
}

export const MEMORY_DEFAULTS = { maxBytes: 64 * 1024 * 1024, maxEntryBytes: 4 * 1024 * 1024, maxVariants: 8 } as const;

/** One primary key: its variants (oldest written first) and its place in the LRU list. */
interface Slot {
  readonly key: string;
  /** handed out by get(); replaced, never mutated */
  items: readonly StoredResponse[];
  /** expiry (ms since epoch) and counted bytes of items[i] */
  exps: readonly number[];
  sizes: readonly number[];
  bytes: number;
  /** the earliest expiry among items: get() prunes only when it has passed */
  minExp: number;
  prev: Slot | null;
  next: Slot | null;
}

const NONE: readonly StoredResponse[] = Object.freeze([]);
const RELEASED = (): Promise<void> => Promise.resolve();
const NO_OP_LOCK: Promise<() => Promise<void>> = Promise.resolve(RELEASED);

export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory' as const;
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
  readonly maxVariants: number;
  private readonly onEvict: MemoryCacheStoreOptions['onEvict'];
  private readonly now: () => number;
  private readonly map = new Map<string, Slot>();
  /** tag → primary keys having at least one variant with that tag */
  /** tag → the primary key carrying it, or a Set when several do (most tags name one URL: no Set per entry) */
  private readonly tags = new Map<string, string | Set<string>>();
  /** least recently used */
  private head: Slot | null = null;
  /** most recently used */
  private tail: Slot | null = null;
  private bytes = 0;
  private entries = 0;

  constructor(opts: MemoryCacheStoreOptions = {}) {
    this.maxBytes = positiveInt('maxBytes', opts.maxBytes, MEMORY_DEFAULTS.maxBytes);
    this.maxEntryBytes = Math.min(this.maxBytes, positiveInt('maxEntryBytes', opts.maxEntryBytes, MEMORY_DEFAULTS.maxEntryBytes));
    this.maxVariants = positiveInt('maxVariants', opts.maxVariants, MEMORY_DEFAULTS.maxVariants);
    this.onEvict = opts.onEvict;
    this.now = opts.now ?? Date.now;
  }

  get(primary: string): readonly StoredResponse[] {
    const s = this.map.get(primary);
    if (s === undefined) return NONE;
    if (s.minExp <= this.now()) {
      this.prune(s, this.now(), null);
      if (s.items.length === 0) return NONE;
    }
    if (s !== this.tail) {
      this.unlink(s);
      this.append(s);
    }
    return s.items;
  }

  put(primary: string, entry: StoredResponse, ttlMs: number): void {
    checkPrimary(primary, entry.url);
    const now = this.now();
    const own = entryBytes(primary, entry);
    const size = entryCost(primary, entry);
    let s = this.map.get(primary);
    const vary = entry.vary;
    const sameVariant = (e: StoredResponse): boolean => sameVary(e.vary, vary);
    if (!(ttlMs > 0 && ttlMs < Number.POSITIVE_INFINITY) || own > this.maxEntryBytes || size > this.maxBytes) {
      // not stored; the variant it would have replaced is outdated by it, so it goes too
      if (s !== undefined) this.prune(s, now, sameVariant);
      return;
    }
    // sweep: up to two expired slots at the cold end
    for (let i = 0; i < 2 && this.head !== null && this.head !== s && this.head.minExp <= now; i++) this.prune(this.head, now, null);
    const stored = ownBody(entry);
    if (s === undefined) {
      s = { key: primary, items: NONE, exps: [], sizes: [], bytes: 0, minExp: Infinity, prev: null, next: null };
      this.map.set(primary, s);
      this.append(s);
    } else {
      this.prune(s, now, sameVariant);
      if (s.items.length === 0) {
        // prune dropped the emptied slot: start it again
        s = { key: primary, items: NONE, exps: [], sizes: [], bytes: 0, minExp: Infinity, prev: null, next: null };
        this.map.set(primary, s);
        this.append(s);
      } else if (s !== this.tail) {
        this.unlink(s);
        this.append(s);
      }
    }
    const exp = now + ttlMs;
    const items = [...s.items, stored];
    const exps = [...s.exps, exp];
    const sizes = [...s.sizes, size];
    let dropped = 0;
    let droppedBytes = 0;
    const droppedItems: StoredResponse[] = [];
    while (items.length > this.maxVariants) {
      droppedItems.push(items.shift()!);
      exps.shift();
      droppedBytes += sizes.shift()!;
      dropped++;
    }
    this.setItems(s, items, exps, sizes);
    this.entries += 1 - dropped;
    this.bytes += size - droppedBytes;
    for (const t of stored.tags) this.tagAdd(t, primary);
    if (dropped > 0) {
      this.untag(s, droppedItems);
      this.onEvict?.(dropped, droppedBytes, 'variants');
    }
    if (this.bytes > this.maxBytes) this.shrink(s);
  }

  delete(primary: string): number {
    const s = this.map.get(primary);
    if (s === undefined) return 0;
    return this.prune(s, this.now(), () => true);
  }

  purgePrefix(urlPrefix: string): Promise<number> {
    const now = this.now();
    let n = 0;
    for (let s = this.head; s !== null; ) {
      const next = s.next;
      n += this.prune(s, now, (e) => e.url.startsWith(urlPrefix));
      s = next;
    }
    return Promise.resolve(n);
  }

  purgeTag(tag: string): Promise<number> {
    const keys = this.tags.get(tag);
    if (keys === undefined) return Promise.resolve(0);
    const now = this.now();
    let n = 0;
    for (const k of typeof keys === 'string' ? [keys] : [...keys]) {
      const s = this.map.get(k);
      if (s !== undefined) n += this.prune(s, now, (e) => e.tags.includes(tag));
    }
    this.tags.delete(tag);
    return Promise.resolve(n);
  }

  /** In-process coalescing is the stage's: always the lock, with a no-op release. */
  lock(_primary: string, _ttlMs: number): Promise<(() => Promise<void>) | null> {
    return NO_OP_LOCK;
  }

  /** Exact: counted bytes and variants held now (expired ones not yet swept included). */
  stats(): { bytes: number; entries: number } {
    return { bytes: this.bytes, entries: this.entries };
  }

  /** Drops everything. */
  close(): Promise<void> {
    this.map.clear();
    this.tags.clear();
    this.head = this.tail = null;
    this.bytes = this.entries = 0;
    return Promise.resolve();
  }

  /** Evicts least recently used slots until the bound holds; the slot just written (`keep`) loses old variants only as a last resort. */
  private shrink(keep: Slot): void {
    let count = 0;
    let bytes = 0;
    while (this.bytes > this.maxBytes && this.head !== null) {
      const h = this.head;
      if (h === keep && h.next === null && h.items.length > 1) {
        // only the fresh slot is left and its variants together exceed the bound: its oldest go
        const b0 = h.sizes[0]!;
        const gone = h.items[0]!;
        this.setItems(h, h.items.slice(1), h.exps.slice(1), h.sizes.slice(1));
        this.bytes -= b0;
        this.entries--;
        this.untag(h, [gone]);
        count++;
        bytes += b0;
        continue;
      }
      count += h.items.length;
      bytes += h.bytes;
      this.dropSlot(h);
    }
    if (count > 0) this.onEvict?.(count, bytes, 'capacity');
  }

  /**
   * Removes from `s` its expired variants (reported to onEvict) and the live ones `remove`
   * selects; the number of live variants removed. An emptied slot goes.
   */
  private prune(s: Slot, now: number, remove: ((e: StoredResponse) => boolean) | null): number {
    const items: StoredResponse[] = [];
    const exps: number[] = [];
    const sizes: number[] = [];
    const gone: StoredResponse[] = [];
    let live = 0;
    let expired = 0;
    let expiredBytes = 0;
    let goneBytes = 0;
    for (let i = 0; i < s.items.length; i++) {
      const e = s.items[i]!;
      const exp = s.exps[i]!;
      const size = s.sizes[i]!;
      if (exp <= now) {
        expired++;
        expiredBytes += size;
      } else if (remove !== null && remove(e)) {
        live++;
      } else {
        items.push(e);
        exps.push(exp);
        sizes.push(size);
        continue;
      }
      gone.push(e);
      goneBytes += size;
    }
    if (gone.length === 0) return 0;
    this.entries -= gone.length;
    this.bytes -= goneBytes;
    if (items.length === 0) {
      this.unlink(s);
      this.map.delete(s.key);
      s.items = NONE;
      s.exps = s.sizes = [];
      s.bytes = 0;
      s.minExp = Infinity;
    } else {
      this.setItems(s, items, exps, sizes);
    }
    this.untag(s, gone);
    if (expired > 0) this.onEvict?.(expired, expiredBytes, 'expired');
    return live;
  }

  /** Removes `s` whole (eviction); the caller reports it. */
  private dropSlot(s: Slot): void {
    this.unlink(s);
    this.map.delete(s.key);
    this.bytes -= s.bytes;
    this.entries -= s.items.length;
    const gone = s.items;
    s.items = NONE;
    s.exps = s.sizes = [];
    s.bytes = 0;
    this.untag(s, gone);
  }

  private setItems(s: Slot, items: readonly StoredResponse[], exps: readonly number[], sizes: readonly number[]): void {
    s.items = items;
    s.exps = exps;
    s.sizes = sizes;
    let bytes = 0;
    let minExp = Infinity;
    for (let i = 0; i < sizes.length; i++) {
      bytes += sizes[i]!;
      if (exps[i]! < minExp) minExp = exps[i]!;
    }
    s.bytes = bytes;
    s.minExp = minExp;
  }

  private tagAdd(tag: string, primary: string): void {
    const cur = this.tags.get(tag);
    if (cur === undefined) this.tags.set(tag, primary);
    else if (typeof cur === 'string') {
      if (cur !== primary) this.tags.set(tag, new Set([cur, primary]));
    } else cur.add(primary);
  }

  /** Takes `s.key` out of the index of each tag of `gone` that no remaining variant of `s` carries. */
  private untag(s: Slot, gone: readonly StoredResponse[]): void {
    for (const e of gone) {
      for (const t of e.tags) {
        if (s.items.some((x) => x.tags.includes(t))) continue;
        const cur = this.tags.get(t);
        if (cur === undefined) continue;
        if (typeof cur === 'string') {
          if (cur === s.key) this.tags.delete(t);
          continue;
        }
        cur.delete(s.key);
        if (cur.size === 0) this.tags.delete(t);
      }
    }
  }

  private unlink(s: Slot): void {
    if (s.prev !== null) s.prev.next = s.next;
    else if (this.head === s) this.head = s.next;
    if (s.next !== null) s.next.prev = s.prev;
    else if (this.tail === s) this.tail = s.prev;
    s.prev = s.next = null;
  }

  private append(s: Slot): void {
    s.prev = this.tail;
    s.next = null;
    if (this.tail !== null) this.tail.next = s;
    else this.head = s;
    this.tail = s;
  }
}

/**
 * The entry with a body that owns its memory: a body that is a view into a larger ArrayBuffer
 * (Node's 8 KiB allocation pool, a slice of a socket chunk) is copied once, so that a small
 * cached body cannot keep a much larger buffer alive outside the byte count.
 */
function ownBody(e: StoredResponse): StoredResponse {
  const b = e.body;
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) return e;
  const copy = Buffer.allocUnsafeSlow(b.length);
  b.copy(copy);
  return { ...e, body: copy };
}
