/**
 * The in-process response cache: bounded in counted bytes and per entry, exact least-recently-used
 * eviction over primary keys, at most `maxVariants` variants per primary key, per-variant expiry,
 * a tag index for purge by tag.
 *
 * Entries live outside the JavaScript heap: each is serialised once (its metadata as JSON, then its
 * body) into a chain of 256-byte blocks of 1 MiB pages allocated as they are first needed, and
 * freed blocks are reused. The index is a Map from primary key to a slot number, and typed arrays.
 * Why: a cache under churn (a new URL every request) evicts one entry per request. Entries kept as
 * JS objects and Buffers live long enough to reach V8's old generation, and the evicted ones wait
 * there for a full collection while V8 lets that heap grow with the live size: measured, the
 * process grew about four times the cap. Blocks are memory the store reuses itself: the process
 * grows by the cap, and no more (bench/results.md, `cache-memory`).
 *
 * A read decodes the entry into a StoredResponse with its own copy of the body (the blocks are
 * reused after eviction, so nothing handed out may point into them). Decoded entries of recent
 * reads are kept, up to 1/16 of `maxBytes` on top of it, so a hot key costs one Map lookup and a
 * list splice, and `get` returns the same array for it each time. Arrays handed out never change.
 */
import type { CacheStore, StoredResponse } from '../types.js';
import { checkPrimary, ENTRY_OVERHEAD, entryBytes, fromMeta, metaJson, positiveInt, sameVary, urlOfPrimary } from './entry.js';

/** Why entries left without being deleted or purged: over `maxBytes`, over `maxVariants`, or past their ttl. */
export type EvictReason = 'capacity' | 'variants' | 'expired';

export interface MemoryCacheStoreOptions {
  /** the bound on counted bytes of all entries (default 64 MiB) */
  readonly maxBytes?: number | undefined;
  /** entries whose entryBytes exceed it are not stored (default 4 MiB, at most maxBytes) */
  readonly maxEntryBytes?: number | undefined;
  /** variants kept per primary key; beyond it the oldest written goes (default 8) */
  readonly maxVariants?: number | undefined;
  /** called after entries were evicted (not for delete or purge), for metrics */
  readonly onEvict?: ((count: number, bytes: number, reason: EvictReason) => void) | undefined;
  /** ms since the epoch (default Date.now) */
  readonly now?: (() => number) | undefined;
}

export const MEMORY_DEFAULTS = { maxBytes: 64 * 1024 * 1024, maxEntryBytes: 4 * 1024 * 1024, maxVariants: 8 } as const;

/** Block size: small enough that the last block's slack stays small against API responses, large enough that the chain is short. */
const BLOCK = 256;
const PAGE_BLOCKS = 4096;
const NIL = -1;
/** What a decoded entry kept for reuse costs on top of its serialised bytes (its objects and strings, as a heap snapshot shows). */
const OBJECT_BYTES = 1024;
/** Serialised entries up to this size go through one reused scratch buffer. */
const SCRATCH_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

function blocksFor(len: number): number {
  return Math.max(1, Math.ceil(len / BLOCK));
}

/**
 * The bytes `e` counts for under `primary`: its serialised form rounded up to whole blocks, the
 * key, and a fixed overhead per entry for its slot in the index.
 */
export function entryCost(primary: string, e: StoredResponse): number {
  return cost(primary, Buffer.byteLength(metaJson(e)) + e.body.length);
}

function cost(primary: string, serialised: number): number {
  return blocksFor(serialised) * BLOCK + ENTRY_OVERHEAD + Buffer.byteLength(primary);
}

const NO_TAGS: readonly string[] = [];
function tagsOf(t: string | readonly string[] | null | undefined): readonly string[] {
  return t == null ? NO_TAGS : typeof t === 'string' ? [t] : t;
}

function grown<T extends Int32Array | Float64Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
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

  // blocks: pages of PAGE_BLOCKS blocks, a chain link per block, a stack of freed blocks
  private readonly pages: Buffer[] = [];
  private bNext = new Int32Array(0);
  private bFree = new Int32Array(0);
  private bTop = 0;
  private bFresh = 0;
  private scratch = Buffer.allocUnsafeSlow(4096);
  private readScratch = Buffer.allocUnsafeSlow(1024);

  // entries (variants): struct of arrays indexed by entry id
  private eCap = 0;
  private eExp = new Float64Array(0);
  private eSize = new Float64Array(0);
  private eBlock = new Int32Array(0);
  private eLen = new Int32Array(0);
  private eMeta = new Int32Array(0);
  /** next variant of the same slot (oldest written first) */
  private eNext = new Int32Array(0);
  private eSlot = new Int32Array(0);
  /** the entry's purge tags (null: none), kept beside the index so that eviction and purge need not decode the entry (the tag strings are the tag index's keys anyway) */
  private eTags: (string | readonly string[] | null)[] = [];
  private eFree: number[] = [];
  private eFresh = 0;

  // slots (primary keys): struct of arrays indexed by slot id
  private readonly map = new Map<string, number>();
  private sCap = 0;
  private sKey: (string | undefined)[] = [];
  private sPrev = new Int32Array(0);
  private sNext = new Int32Array(0);
  private sFirst = new Int32Array(0);
  private sCount = new Int32Array(0);
  private sMinExp = new Float64Array(0);
  /** the array get() hands out, while every variant's decoded object is kept */
  private sArr: (readonly StoredResponse[] | undefined)[] = [];
  private sFree: number[] = [];
  private sFresh = 0;
  /** least and most recently used slots */
  private head = NIL;
  private tail = NIL;

  /** tag → the primary key carrying it, or a Set when several do (most tags name one URL: no Set per entry) */
  private readonly tags = new Map<string, string | Set<string>>();
  /** decoded entries of recent reads, oldest first, and what they cost */
  private readonly hot = new Map<number, StoredResponse>();
  private hotBytes = 0;
  private readonly hotMax: number;

  private bytes = 0;
  private entries = 0;

  constructor(opts: MemoryCacheStoreOptions = {}) {
    this.maxBytes = positiveInt('maxBytes', opts.maxBytes, MEMORY_DEFAULTS.maxBytes);
    this.maxEntryBytes = Math.min(this.maxBytes, positiveInt('maxEntryBytes', opts.maxEntryBytes, MEMORY_DEFAULTS.maxEntryBytes));
    this.maxVariants = positiveInt('maxVariants', opts.maxVariants, MEMORY_DEFAULTS.maxVariants);
    this.onEvict = opts.onEvict;
    this.now = opts.now ?? Date.now;
    this.hotMax = Math.floor(this.maxBytes / 16);
  }

  get(primary: string): readonly StoredResponse[] {
    const s = this.map.get(primary);
    if (s === undefined) return NONE;
    if (this.sMinExp[s]! <= this.now()) {
      this.prune(s, this.now(), null);
      if (this.map.get(primary) !== s) return NONE;
    }
    if (s !== this.tail) {
      this.unlink(s);
      this.append(s);
    }
    const cached = this.sArr[s];
    if (cached !== undefined) return cached;
    const out: StoredResponse[] = [];
    for (let e = this.sFirst[s]!; e !== NIL; e = this.eNext[e]!) {
      let obj = this.hot.get(e);
      if (obj === undefined) {
        obj = this.decode(e);
        this.keepHot(e, obj);
      }
      out.push(obj);
    }
    // kept for the next read only while every variant is (keepHot may have dropped an earlier one)
    let all = true;
    for (let e = this.sFirst[s]!; e !== NIL; e = this.eNext[e]!) all &&= this.hot.has(e);
    if (all) this.sArr[s] = out;
    return out;
  }

  put(primary: string, entry: StoredResponse, ttlMs: number): void {
    checkPrimary(primary, entry.url);
    const now = this.now();
    let s = this.map.get(primary) ?? NIL;
    const vary = entry.vary;
    const sameVariant = (e: number): boolean => sameVary(this.metaOf(e).vary, vary);
    const meta = metaJson(entry);
    const body = entry.body;
    // the metadata goes into the scratch buffer at once when it surely fits (UTF-8: at most 3 bytes per UTF-16 unit)
    const direct = meta.length * 3 + body.length <= SCRATCH_BYTES;
    const metaLen = direct ? this.scratchOf(meta.length * 3 + body.length).write(meta, 0, 'utf8') : Buffer.byteLength(meta);
    const len = metaLen + body.length;
    const size = cost(primary, len);
    // the metadata JSON holds every counted string, so entryBytes is at most len + key + overhead: computed only near the cap
    const tooLarge = len + primary.length * 3 + ENTRY_OVERHEAD > this.maxEntryBytes && entryBytes(primary, entry) > this.maxEntryBytes;
    if (!(ttlMs > 0 && ttlMs < Number.POSITIVE_INFINITY) || tooLarge || size > this.maxBytes) {
      // not stored; the variant it would have replaced is outdated by it, so it goes too
      if (s !== NIL) this.prune(s, now, sameVariant);
      return;
    }
    // sweep: up to two expired slots at the cold end
    for (let i = 0; i < 2 && this.head !== NIL && this.head !== s && this.sMinExp[this.head]! <= now; i++) this.prune(this.head, now, null);
    if (s !== NIL) {
      this.prune(s, now, sameVariant);
      if (this.map.get(primary) !== s) s = NIL; // prune dropped the emptied slot
    }
    if (s === NIL) {
      s = this.newSlot(primary);
      this.append(s);
    } else if (s !== this.tail) {
      this.unlink(s);
      this.append(s);
    }
    // at most maxVariants: the oldest written go
    let dropped = 0;
    let droppedBytes = 0;
    while (this.sCount[s]! >= this.maxVariants) {
      droppedBytes += this.eSize[this.sFirst[s]!]!;
      this.dropOldest(s);
      dropped++;
    }
    if (dropped > 0) this.onEvict?.(dropped, droppedBytes, 'variants');
    this.makeRoom(s, size);
    // serialise: metadata (already in the scratch buffer when direct), then body
    let buf: Buffer;
    if (direct) buf = this.scratch;
    else {
      buf = len <= SCRATCH_BYTES ? this.scratchOf(len) : Buffer.allocUnsafeSlow(len);
      buf.write(meta, 0, 'utf8');
    }
    body.copy(buf, metaLen);
    const e = this.newEntry();
    this.eBlock[e] = this.writeBlocks(buf, len);
    this.eLen[e] = len;
    this.eMeta[e] = metaLen;
    this.eExp[e] = now + ttlMs;
    this.eSize[e] = size;
    this.eSlot[e] = s;
    this.eNext[e] = NIL;
    // one tag (the usual case) as the string itself, which the tag index holds anyway: no array per entry
    const tags = entry.tags;
    this.eTags[e] = tags.length === 0 ? null : tags.length === 1 ? (tags[0] as string) : [...tags];
    let last = this.sFirst[s]!;
    if (last === NIL) this.sFirst[s] = e;
    else {
      while (this.eNext[last]! !== NIL) last = this.eNext[last]!;
      this.eNext[last] = e;
    }
    this.sCount[s]!++;
    this.sMinExp[s] = Math.min(this.sMinExp[s]!, now + ttlMs);
    this.sArr[s] = undefined;
    this.bytes += size;
    this.entries++;
    for (const t of entry.tags) this.tagAdd(t, primary);
  }

  delete(primary: string): number {
    const s = this.map.get(primary);
    if (s === undefined) return 0;
    return this.prune(s, this.now(), () => true);
  }

  purgePrefix(urlPrefix: string): Promise<number> {
    const now = this.now();
    let n = 0;
    for (const [k, s] of [...this.map]) if ((urlOfPrimary(k) ?? '').startsWith(urlPrefix)) n += this.prune(s, now, () => true);
    return Promise.resolve(n);
  }

  purgeTag(tag: string): Promise<number> {
    const keys = this.tags.get(tag);
    if (keys === undefined) return Promise.resolve(0);
    const now = this.now();
    let n = 0;
    for (const k of typeof keys === 'string' ? [keys] : [...keys]) {
      const s = this.map.get(k);
      if (s !== undefined) n += this.prune(s, now, (e) => tagsOf(this.eTags[e]).includes(tag));
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

  /** Drops everything, the pages too. */
  close(): Promise<void> {
    this.map.clear();
    this.tags.clear();
    this.hot.clear();
    this.eTags = [];
    this.pages.length = 0;
    this.bNext = new Int32Array(0);
    this.bFree = new Int32Array(0);
    this.bTop = this.bFresh = 0;
    this.eFree = [];
    this.eFresh = 0;
    this.sFree = [];
    this.sFresh = 0;
    this.sKey = [];
    this.sArr = [];
    this.head = this.tail = NIL;
    this.bytes = this.entries = this.hotBytes = 0;
    return Promise.resolve();
  }

  /** Evicts least recently used slots until `size` more bytes fit; the slot being written (`keep`) loses its own old variants only as a last resort. */
  private makeRoom(keep: number, size: number): void {
    let count = 0;
    let bytes = 0;
    while (this.bytes + size > this.maxBytes && this.head !== NIL) {
      const h = this.head;
      if (h === keep) {
        // keep is the most recently used slot: at the cold end, it is the only one
        if (this.sCount[h] === 0) break;
        bytes += this.eSize[this.sFirst[h]!]!;
        count++;
        this.dropOldest(h);
        continue;
      }
      count += this.sCount[h]!;
      for (let e = this.sFirst[h]!; e !== NIL; e = this.eNext[e]!) bytes += this.eSize[e]!;
      this.prune(h, Number.NEGATIVE_INFINITY, () => true);
    }
    if (count > 0) this.onEvict?.(count, bytes, 'capacity');
  }

  /** Drops the oldest written variant of `s`, the slot being written: it stays, even empty. */
  private dropOldest(s: number): void {
    const e = this.sFirst[s]!;
    this.sFirst[s] = this.eNext[e]!;
    this.sCount[s]!--;
    this.sArr[s] = undefined;
    this.release(s, [e], false);
  }

  /**
   * Removes from `s` its expired variants (reported to onEvict) and the live ones `remove`
   * selects; the number of live variants removed. An emptied slot goes.
   */
  private prune(s: number, now: number, remove: ((e: number) => boolean) | null): number {
    const gone: number[] = [];
    let live = 0;
    let expired = 0;
    let expiredBytes = 0;
    let minExp = Number.POSITIVE_INFINITY;
    let prev = NIL;
    for (let e = this.sFirst[s]!; e !== NIL; ) {
      const next = this.eNext[e]!;
      const exp = this.eExp[e]!;
      let drop = true;
      if (exp <= now) {
        expired++;
        expiredBytes += this.eSize[e]!;
      } else if (remove !== null && remove(e)) live++;
      else drop = false;
      if (drop) {
        if (prev === NIL) this.sFirst[s] = next;
        else this.eNext[prev] = next;
        gone.push(e);
      } else {
        prev = e;
        if (exp < minExp) minExp = exp;
      }
      e = next;
    }
    if (gone.length === 0) return 0;
    this.sCount[s]! -= gone.length;
    this.sMinExp[s] = minExp;
    this.sArr[s] = undefined;
    this.release(s, gone, true);
    if (expired > 0) this.onEvict?.(expired, expiredBytes, 'expired');
    return live;
  }

  /** Frees entries already unlinked from slot `s` (their tags, blocks, decoded copies); drops `s` when it is empty and `dropEmpty`. */
  private release(s: number, gone: readonly number[], dropEmpty: boolean): void {
    const key = this.sKey[s] as string;
    let goneTags: Set<string> | null = null;
    for (const e of gone) {
      const tags = this.eTags[e];
      if (tags != null) {
        goneTags ??= new Set();
        for (const t of tagsOf(tags)) goneTags.add(t);
        this.eTags[e] = null;
      }
      this.bytes -= this.eSize[e]!;
      this.entries--;
      this.dropHot(e);
      this.freeBlocks(this.eBlock[e]!);
      this.eFree.push(e);
    }
    if (goneTags !== null) {
      for (let e = this.sFirst[s]!; e !== NIL; e = this.eNext[e]!) for (const t of tagsOf(this.eTags[e])) goneTags.delete(t);
      for (const t of goneTags) this.untag(t, key);
    }
    if (dropEmpty && this.sCount[s] === 0) {
      this.unlink(s);
      this.map.delete(key);
      this.sKey[s] = undefined;
      this.sArr[s] = undefined;
      this.sFree.push(s);
    }
  }

  private newSlot(key: string): number {
    let s = this.sFree.pop();
    if (s === undefined) {
      s = this.sFresh++;
      if (s >= this.sCap) {
        const n = Math.max(64, this.sCap * 2);
        this.sPrev = grown(this.sPrev, n);
        this.sNext = grown(this.sNext, n);
        this.sFirst = grown(this.sFirst, n);
        this.sCount = grown(this.sCount, n);
        this.sMinExp = grown(this.sMinExp, n);
        this.sCap = n;
      }
    }
    this.sKey[s] = key;
    this.sPrev[s] = this.sNext[s] = this.sFirst[s] = NIL;
    this.sCount[s] = 0;
    this.sMinExp[s] = Number.POSITIVE_INFINITY;
    this.sArr[s] = undefined;
    this.map.set(key, s);
    return s;
  }

  private newEntry(): number {
    let e = this.eFree.pop();
    if (e === undefined) {
      e = this.eFresh++;
      if (e >= this.eCap) {
        const n = Math.max(64, this.eCap * 2);
        this.eExp = grown(this.eExp, n);
        this.eSize = grown(this.eSize, n);
        this.eBlock = grown(this.eBlock, n);
        this.eLen = grown(this.eLen, n);
        this.eMeta = grown(this.eMeta, n);
        this.eNext = grown(this.eNext, n);
        this.eSlot = grown(this.eSlot, n);
        this.eCap = n;
      }
    }
    return e;
  }

  private scratchOf(len: number): Buffer {
    if (this.scratch.length < len) this.scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_BYTES, Math.max(len, this.scratch.length * 2)));
    return this.scratch;
  }

  /** The page holding block `b` and the block's offset in it. */
  private at(b: number): [Buffer, number] {
    return [this.pages[Math.floor(b / PAGE_BLOCKS)] as Buffer, (b % PAGE_BLOCKS) * BLOCK];
  }

  /** A free block: the most recently freed first (so the pages in use stay few), else a new one. */
  private block(): number {
    if (this.bTop > 0) return this.bFree[--this.bTop]!;
    const b = this.bFresh++;
    if (b % PAGE_BLOCKS === 0) this.pages.push(Buffer.allocUnsafeSlow(PAGE_BLOCKS * BLOCK));
    if (b >= this.bNext.length) {
      const n = Math.max(PAGE_BLOCKS, this.bNext.length * 2);
      this.bNext = grown(this.bNext, n);
      this.bFree = grown(this.bFree, n);
    }
    return b;
  }

  /** Copies `len` bytes of `buf` into a new chain of blocks; its first block. */
  private writeBlocks(buf: Buffer, len: number): number {
    let first = NIL;
    let prev = NIL;
    for (let off = 0; off < len || first === NIL; off += BLOCK) {
      const b = this.block();
      if (prev === NIL) first = b;
      else this.bNext[prev] = b;
      const [page, at] = this.at(b);
      buf.copy(page, at, off, Math.min(len, off + BLOCK));
      prev = b;
    }
    this.bNext[prev] = NIL;
    return first;
  }

  /** Copies bytes [from, to) of the chain starting at `first` into `out` at 0. */
  private readBlocks(first: number, from: number, to: number, out: Buffer): void {
    let b = first;
    let pos = 0;
    while (pos + BLOCK <= from) {
      b = this.bNext[b]!;
      pos += BLOCK;
    }
    let w = 0;
    while (pos < to) {
      const [page, at] = this.at(b);
      const start = Math.max(from, pos);
      const end = Math.min(to, pos + BLOCK);
      page.copy(out, w, at + (start - pos), at + (end - pos));
      w += end - start;
      pos += BLOCK;
      b = this.bNext[b]!;
    }
  }

  private freeBlocks(first: number): void {
    for (let b = first; b !== NIL; b = this.bNext[b]!) this.bFree[this.bTop++] = b;
  }

  /** Entry `e` as a StoredResponse with its own body. */
  private decode(e: number): StoredResponse {
    const metaLen = this.eMeta[e]!;
    const body = Buffer.allocUnsafeSlow(this.eLen[e]! - metaLen);
    this.readBlocks(this.eBlock[e]!, metaLen, this.eLen[e]!, body);
    return this.parse(e, body);
  }

  /** Entry `e`'s metadata (its body left empty): from the decoded copy when there is one. */
  private metaOf(e: number): StoredResponse {
    return this.hot.get(e) ?? this.parse(e, EMPTY);
  }

  private parse(e: number, body: Buffer): StoredResponse {
    const metaLen = this.eMeta[e]!;
    // its own scratch: put reads entries it evicts while its serialised entry waits in `scratch`
    if (metaLen <= SCRATCH_BYTES && this.readScratch.length < metaLen)
      this.readScratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_BYTES, Math.max(metaLen, this.readScratch.length * 2)));
    const buf = metaLen <= SCRATCH_BYTES ? this.readScratch : Buffer.allocUnsafeSlow(metaLen);
    this.readBlocks(this.eBlock[e]!, 0, metaLen, buf);
    const got = fromMeta(buf.toString('utf8', 0, metaLen), body);
    // put wrote it with metaJson: a failure here is a bug in this file, not bad input
    if (got === null) throw new Error('a memory cache entry does not decode');
    return got;
  }

  private keepHot(e: number, obj: StoredResponse): void {
    const c = this.eLen[e]! + OBJECT_BYTES;
    if (c > this.hotMax) return;
    this.hot.set(e, obj);
    this.hotBytes += c;
    while (this.hotBytes > this.hotMax) {
      const oldest = this.hot.keys().next().value as number;
      this.dropHot(oldest);
    }
  }

  private dropHot(e: number): void {
    if (!this.hot.delete(e)) return;
    this.hotBytes -= this.eLen[e]! + OBJECT_BYTES;
    this.sArr[this.eSlot[e]!] = undefined;
  }

  private tagAdd(tag: string, primary: string): void {
    const cur = this.tags.get(tag);
    if (cur === undefined) this.tags.set(tag, primary);
    else if (typeof cur === 'string') {
      if (cur !== primary) this.tags.set(tag, new Set([cur, primary]));
    } else cur.add(primary);
  }

  private untag(tag: string, key: string): void {
    const cur = this.tags.get(tag);
    if (cur === undefined) return;
    if (typeof cur === 'string') {
      if (cur === key) this.tags.delete(tag);
      return;
    }
    cur.delete(key);
    if (cur.size === 0) this.tags.delete(tag);
  }

  private unlink(s: number): void {
    const p = this.sPrev[s]!;
    const n = this.sNext[s]!;
    if (p !== NIL) this.sNext[p] = n;
    else if (this.head === s) this.head = n;
    if (n !== NIL) this.sPrev[n] = p;
    else if (this.tail === s) this.tail = p;
    this.sPrev[s] = this.sNext[s] = NIL;
  }

  private append(s: number): void {
    this.sPrev[s] = this.tail;
    this.sNext[s] = NIL;
    if (this.tail !== NIL) this.sNext[this.tail] = s;
    else this.head = s;
    this.tail = s;
  }
}
