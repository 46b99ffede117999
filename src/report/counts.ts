/** Counts by key with a cap on distinct keys: what every section of a report is made of. */

/** The key that counts every key seen after the cap was reached. */
export const OTHER = '(other)';

export interface Count {
  readonly key: string;
  readonly count: number;
}

/**
 * Counts by key, keeping at most `cap` distinct keys: the first `cap` keys seen are counted
 * exactly, every later one is added to `(other)`. Why not an approximate top-N (space-saving):
 * exact counts for the keys shown are what an auditor checks, and a report's keys (codes, stages,
 * routes, tenants, categories) are few; only client addresses can be many, and there `(other)`
 * says how much traffic the cap left unattributed.
 */
export class CappedCounts {
  private readonly map = new Map<string, number>();
  private total = 0;

  constructor(private readonly cap: number) {}

  add(key: string, n = 1): void {
    this.total += n;
    const m = this.map;
    const c = m.get(key);
    if (c !== undefined) m.set(key, c + n);
    else if (m.size < this.cap) m.set(key, n);
    else m.set(OTHER, (m.get(OTHER) ?? 0) + n);
  }

  get(key: string): number {
    return this.map.get(key) ?? 0;
  }

  get sum(): number {
    return this.total;
  }

  /** Whether keys were folded into `(other)`. */
  get capped(): boolean {
    return this.map.size > this.cap;
  }

  /** Largest first (ties by key), at most `limit`; `(other)` last. */
  top(limit = Number.POSITIVE_INFINITY): Count[] {
    const rows: Count[] = [];
    for (const [key, count] of this.map) if (key !== OTHER) rows.push({ key, count });
    rows.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const shown = rows.slice(0, limit);
    const rest = rows.slice(limit).reduce((s, r) => s + r.count, 0) + (this.map.get(OTHER) ?? 0);
    if (rest > 0) shown.push({ key: OTHER, count: rest });
    return shown;
  }
}
