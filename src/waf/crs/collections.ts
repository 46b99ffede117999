/**
 * Persistent collections (IP, GLOBAL, SESSION, USER, RESOURCE) opened by `initcol`. The host
 * supplies the store: the gateway's state store keeps per-IP collections (loaded before the
 * transaction, written back after it); the in-memory store here serves tests and single nodes.
 */

/** A collection's variables (lowercase names) and the second at which each expires (`expirevar`). */
export interface CollectionData {
  readonly values: Map<string, string>;
  readonly expires: Map<string, number>;
}

export interface CrsCollectionStore {
  /** the collection named `name` (lowercase, e.g. 'ip') with key `key`; a fresh one when absent */
  load(name: string, key: string, nowSeconds: number): CollectionData;
  /** writes a collection back at the end of the transaction */
  store(name: string, key: string, data: CollectionData, nowSeconds: number): void;
}

/** Keeps collections in memory, dropping expired variables when they are read. */
export class MemoryCollectionStore implements CrsCollectionStore {
  private readonly data = new Map<string, CollectionData>();
  constructor(private readonly maxCollections = 100000) {}

  load(name: string, key: string, nowSeconds: number): CollectionData {
    const got = this.data.get(`${name}\u0000${key}`);
    const values = new Map<string, string>();
    const expires = new Map<string, number>();
    if (got !== undefined) {
      for (const [k, v] of got.values) {
        const e = got.expires.get(k);
        if (e !== undefined && e <= nowSeconds) continue;
        values.set(k, v);
        if (e !== undefined) expires.set(k, e);
      }
    }
    return { values, expires };
  }

  store(name: string, key: string, data: CollectionData, _nowSeconds: number): void {
    const id = `${name}\u0000${key}`;
    if (!this.data.has(id) && this.data.size >= this.maxCollections) {
      const oldest = this.data.keys().next();
      if (oldest.done !== true) this.data.delete(oldest.value);
    }
    this.data.set(id, { values: new Map(data.values), expires: new Map(data.expires) });
  }
}
