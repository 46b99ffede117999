/**
 * The bounded maps that keep per-client state from growing without limit, in one place. Three
 * shapes, each measured for its use:
 *
 * - `ExpiringLru`: strings to a value and an expiry, exact least-recently-used eviction (a Map and
 *   a linked list): the memory store's nonces, counters and values;
 * - `NumberLru`: 53-bit numeric keys to a number and an expiry in typed arrays, allocation-free
 *   (rate-limit buckets under an IP-rotation flood);
 * - `GenerationalMap`: any key, two generations, no reordering on read (abuse detection's
 *   per-client windows, read on every request).
 */

/** An LRU list node: the map finds it, the list orders it (head: least recently used). */
interface ExpiringEntry {
  k: string;
  v: number | string;
  /** expiry, ms since epoch (Infinity: none) */
  exp: number;
  prev: ExpiringEntry | null;
  next: ExpiringEntry | null;
}

/** A bounded LRU map from strings to a value and an expiry (a Map for lookup, a linked list for order): the memory store's nonces, counters and values. */
export class ExpiringLru {
  private readonly map = new Map<string, ExpiringEntry>();
  private head: ExpiringEntry | null = null;
  private tail: ExpiringEntry | null = null;

  constructor(readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  private unlink(e: ExpiringEntry): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
  }

  private append(e: ExpiringEntry): void {
    e.prev = this.tail;
    e.next = null;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
  }

  private drop(e: ExpiringEntry): void {
    this.unlink(e);
    this.map.delete(e.k);
  }

  /** The live entry for `key` (an expired one is removed). */
  live(key: string, now: number): ExpiringEntry | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (e.exp <= now) {
      this.drop(e);
      return undefined;
    }
    return e;
  }

  /** Writes a key as most recently used, evicting the least recently used beyond the cap. */
  put(key: string, v: number | string, exp: number, now: number): void {
    const e = this.map.get(key);
    if (e !== undefined) {
      e.v = v;
      e.exp = exp;
      if (e !== this.tail) {
        this.unlink(e);
        this.append(e);
      }
      return;
    }
    // sweep: drop up to two expired keys at the cold end
    for (let swept = 0; swept < 2 && this.head !== null && this.head.exp <= now; swept++) this.drop(this.head);
    let n: ExpiringEntry;
    const old = this.head;
    if (this.map.size >= this.max && old !== null) {
      // full: the least recently used node is reused for the new key (no garbage per eviction)
      this.unlink(old);
      this.map.delete(old.k);
      n = old;
      n.k = key;
      n.v = v;
      n.exp = exp;
    } else {
      n = { k: key, v, exp, prev: null, next: null };
    }
    this.map.set(key, n);
    this.append(n);
  }

  delete(key: string): boolean {
    const e = this.map.get(key);
    if (e === undefined) return false;
    this.drop(e);
    return true;
  }

  /** Live entries with a prefix, most recently used first, at most `max`. */
  scan(prefix: string, max: number, now: number, out: { key: string; value: string; ttlMs: number }[]): void {
    for (let e = this.tail; e !== null && out.length < max; e = e.prev) {
      if (e.exp <= now || !e.k.startsWith(prefix)) continue;
      out.push({ key: e.k, value: String(e.v), ttlMs: e.exp === Infinity ? -1 : e.exp - now });
    }
  }

  clear(): void {
    this.map.clear();
    this.head = this.tail = null;
  }
}

/**
 * A bounded map for per-client memory (the abuse detectors' windows, baselines and cooldowns): two generations of at most max/2 entries each. Reads find
 * an entry in either generation (promoting it from the old one); when the young generation is
 * full, the old one is dropped whole. So at most `max` entries live, recently used ones survive,
 * and no per-access reordering is needed (a Map delete + set on every read is what made a
 * classic LRU slow here).
 */
export class GenerationalMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  constructor(max: number) {
    this.half = Math.max(1, Math.floor(max / 2));
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.put(key, o);
    }
    return o;
  }

  /** Reads without promoting. */
  peek(key: K): V | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  set(key: K, value: V): void {
    if (this.young.has(key)) {
      this.young.set(key, value);
      return;
    }
    this.old.delete(key);
    this.put(key, value);
  }

  private put(key: K, value: V): void {
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  delete(key: K): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}

/**
 * A bounded LRU map from numbers (the rate limiter's 53-bit key hashes) to a number and an expiry,
 * held in typed arrays: an open-addressing table (linear probing, at most half full) indexes
 * nodes whose keys, values, expiries and list links are array slots.
 *
 * Why not a Map of objects: a flood of distinct client IPs (an attacker rotating addresses) makes
 * every request insert one key and evict another. A Map then leaves a deleted entry per eviction
 * and is rebuilt as a new large table again and again, and each key and value is a boxed number:
 * measured here, 1,000,000 distinct IPs at the 100,000-key cap grew the process by 90–100 MB,
 * almost all of it garbage waiting for a full GC. Here an insert or an eviction allocates nothing,
 * and the memory is a fixed 36 bytes per key (the arrays grow by doubling up to the cap).
 */
const EMPTY = -1;
const INITIAL = 1024;

export class NumberLru {
  private keys: Float64Array;
  private vals: Float64Array;
  private exps: Float64Array;
  private prev: Int32Array;
  private next: Int32Array;
  /** table slot -> node index, or EMPTY */
  private table: Int32Array;
  private mask: number;
  /** nodes in use: 0..count-1 are allocated (freed nodes go on the free list) */
  private count = 0;
  private free = EMPTY;
  private live = 0;
  private head = EMPTY;
  private tail = EMPTY;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('max must be a positive integer');
    const cap = Math.min(max, INITIAL);
    this.keys = new Float64Array(cap);
    this.vals = new Float64Array(cap);
    this.exps = new Float64Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.table = new Int32Array(tableSize(cap)).fill(EMPTY);
    this.mask = this.table.length - 1;
  }

  get size(): number {
    return this.live;
  }

  /** The value of a live key; undefined when absent or expired (an expired key is removed). */
  get(key: number, now: number): number | undefined {
    const slot = this.find(key);
    if (slot < 0) return undefined;
    const n = this.table[slot] as number;
    if ((this.exps[n] as number) <= now) {
      this.removeAt(slot);
      return undefined;
    }
    return this.vals[n];
  }

  /** Writes a key as most recently used, evicting the least recently used beyond the cap. */
  put(key: number, value: number, exp: number, now: number): void {
    const slot = this.find(key);
    if (slot >= 0) {
      const n = this.table[slot] as number;
      this.vals[n] = value;
      this.exps[n] = exp;
      if (n !== this.tail) {
        this.unlink(n);
        this.append(n);
      }
      return;
    }
    // sweep: drop up to two expired keys at the cold end
    for (let swept = 0; swept < 2 && this.head !== EMPTY && (this.exps[this.head] as number) <= now; swept++) this.dropHead();
    if (this.live >= this.max && this.head !== EMPTY) this.dropHead();
    const n = this.allocate();
    this.keys[n] = key;
    this.vals[n] = value;
    this.exps[n] = exp;
    this.table[this.emptySlotFor(key)] = n;
    this.live++;
    this.append(n);
  }

  delete(key: number): boolean {
    const slot = this.find(key);
    if (slot < 0) return false;
    this.removeAt(slot);
    return true;
  }

  clear(): void {
    this.table.fill(EMPTY);
    this.count = 0;
    this.free = EMPTY;
    this.live = 0;
    this.head = this.tail = EMPTY;
  }

  /** Keys from least to most recently used (for tests and diagnostics). */
  keysInOrder(): number[] {
    const out: number[] = [];
    for (let n = this.head; n !== EMPTY; n = this.next[n] as number) out.push(this.keys[n] as number);
    return out;
  }

  private home(key: number): number {
    // the keys are already uniform hashes; mixing both halves keeps any bias out of the low bits
    const h = Math.imul((key >>> 0) ^ Math.imul(Math.floor(key / 4294967296), 0x9e3779b1), 0x85ebca6b);
    return (h ^ (h >>> 15)) & this.mask;
  }

  /** The table slot holding `key`, or -1. */
  private find(key: number): number {
    const t = this.table;
    for (let s = this.home(key); ; s = (s + 1) & this.mask) {
      const n = t[s] as number;
      if (n === EMPTY) return -1;
      if (this.keys[n] === key) return s;
    }
  }

  private emptySlotFor(key: number): number {
    const t = this.table;
    let s = this.home(key);
    while (t[s] !== EMPTY) s = (s + 1) & this.mask;
    return s;
  }

  /** Removes the least recently used key. */
  private dropHead(): void {
    this.removeAt(this.find(this.keys[this.head] as number));
  }

  /** Removes the node in table slot `slot`: backward-shift deletion keeps every probe chain unbroken. */
  private removeAt(slot: number): void {
    const t = this.table;
    const n = t[slot] as number;
    this.unlink(n);
    this.next[n] = this.free;
    this.free = n;
    this.live--;
    let hole = slot;
    for (let s = (slot + 1) & this.mask; t[s] !== EMPTY; s = (s + 1) & this.mask) {
      const h = this.home(this.keys[t[s] as number] as number);
      // the entry at s may move into the hole unless its home lies cyclically in (hole, s]
      const stays = hole <= s ? hole < h && h <= s : hole < h || h <= s;
      if (!stays) {
        t[hole] = t[s] as number;
        hole = s;
      }
    }
    t[hole] = EMPTY;
  }

  private allocate(): number {
    if (this.free !== EMPTY) {
      const n = this.free;
      this.free = this.next[n] as number;
      return n;
    }
    if (this.count === this.keys.length) this.grow();
    return this.count++;
  }

  /** Doubles the node arrays (up to the cap) and rebuilds the table at the matching size. */
  private grow(): void {
    const cap = Math.min(this.max, this.keys.length * 2);
    const widen = <A extends Float64Array | Int32Array>(a: A, make: (n: number) => A): A => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.keys = widen(this.keys, (n) => new Float64Array(n));
    this.vals = widen(this.vals, (n) => new Float64Array(n));
    this.exps = widen(this.exps, (n) => new Float64Array(n));
    this.prev = widen(this.prev, (n) => new Int32Array(n));
    this.next = widen(this.next, (n) => new Int32Array(n));
    this.table = new Int32Array(tableSize(cap)).fill(EMPTY);
    this.mask = this.table.length - 1;
    for (let n = this.head; n !== EMPTY; n = this.next[n] as number) this.table[this.emptySlotFor(this.keys[n] as number)] = n;
  }

  private unlink(n: number): void {
    const p = this.prev[n] as number;
    const x = this.next[n] as number;
    if (p !== EMPTY) this.next[p] = x;
    else this.head = x;
    if (x !== EMPTY) this.prev[x] = p;
    else this.tail = p;
  }

  private append(n: number): void {
    this.prev[n] = this.tail;
    this.next[n] = EMPTY;
    if (this.tail !== EMPTY) this.next[this.tail] = n;
    else this.head = n;
    this.tail = n;
  }
}

/** A power of two at least twice `cap`: the table stays at most half full. */
function tableSize(cap: number): number {
  let s = 16;
  while (s < cap * 2) s *= 2;
  return s;
}
