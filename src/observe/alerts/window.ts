/**
 * A rolling window of exchange counts and latencies for one alert rule and scope: a ring of
 * sub-buckets (at most 30 per window), so memory per series is fixed. Pure apart from its arrays.
 */

/** Upper bounds (ms) of the latency histogram used for percentiles. */
export const LATENCY_BOUNDS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 3000, 5000, 10000, 30000, 60000];

export interface Sample {
  /** 1 when the exchange matches the rule's metric (a 5xx for 5xx_rate...), else 0 */
  readonly matched: number;
  readonly latencyMs: number;
}

export class RollingSeries {
  private readonly n: number;
  private readonly slotMs: number;
  private readonly total: Float64Array;
  private readonly matched: Float64Array;
  private readonly latency: Uint32Array | null;
  /** absolute slot number of the newest slot written */
  private head = -1;
  lastSeen = 0;

  constructor(windowMs: number, withLatency: boolean) {
    this.slotMs = Math.max(100, Math.ceil(windowMs / 30));
    this.n = Math.ceil(windowMs / this.slotMs);
    this.total = new Float64Array(this.n);
    this.matched = new Float64Array(this.n);
    this.latency = withLatency ? new Uint32Array(this.n * (LATENCY_BOUNDS.length + 1)) : null;
  }

  private advance(now: number): number {
    const slot = Math.floor(now / this.slotMs);
    if (this.head < 0 || slot - this.head >= this.n) {
      this.total.fill(0);
      this.matched.fill(0);
      this.latency?.fill(0);
    } else {
      for (let s = this.head + 1; s <= slot; s++) this.clear(s % this.n);
    }
    if (slot > this.head) this.head = slot;
    return slot;
  }

  private clear(i: number): void {
    this.total[i] = 0;
    this.matched[i] = 0;
    if (this.latency) this.latency.fill(0, i * (LATENCY_BOUNDS.length + 1), (i + 1) * (LATENCY_BOUNDS.length + 1));
  }

  add(now: number, s: Sample): void {
    const slot = this.advance(now);
    if (slot < this.head - this.n + 1) return;
    const i = slot % this.n;
    this.total[i] = (this.total[i] ?? 0) + 1;
    this.matched[i] = (this.matched[i] ?? 0) + s.matched;
    if (this.latency) {
      let b = LATENCY_BOUNDS.findIndex((x) => s.latencyMs <= x);
      if (b < 0) b = LATENCY_BOUNDS.length;
      const k = i * (LATENCY_BOUNDS.length + 1) + b;
      this.latency[k] = (this.latency[k] ?? 0) + 1;
    }
    this.lastSeen = now;
  }

  /** Totals over the window ending at `now`. */
  totals(now: number): { total: number; matched: number } {
    this.advance(now);
    let total = 0;
    let matched = 0;
    for (let i = 0; i < this.n; i++) {
      total += this.total[i] ?? 0;
      matched += this.matched[i] ?? 0;
    }
    return { total, matched };
  }

  /** The q-quantile (0..1) of latency over the window: the upper bound of the bucket holding it. */
  quantile(now: number, q: number): number {
    if (!this.latency) return 0;
    this.advance(now);
    const w = LATENCY_BOUNDS.length + 1;
    const hist = new Array<number>(w).fill(0);
    let total = 0;
    for (let i = 0; i < this.n; i++) {
      for (let b = 0; b < w; b++) {
        const c = this.latency[i * w + b] ?? 0;
        hist[b] = (hist[b] ?? 0) + c;
        total += c;
      }
    }
    if (total === 0) return 0;
    const rank = Math.ceil(q * total);
    let acc = 0;
    for (let b = 0; b < w; b++) {
      acc += hist[b] ?? 0;
      if (acc >= rank) return LATENCY_BOUNDS[b] ?? (LATENCY_BOUNDS[LATENCY_BOUNDS.length - 1] as number) * 2;
    }
    return 0;
  }
}
