/**
 * Per-request series kept as plain numbers and exposed through prom-client's registry at scrape
 * time. Why: prom-client hashes the label object on every inc()/observe() (also through
 * labels() children), which cost ~3% of a proxied request here; these series are updated with
 * one Map lookup and a few additions. They implement the registry's metric interface (get,
 * reset), so /metrics and cluster aggregation treat them like any prom-client metric.
 */
import type client from 'prom-client';

export interface MetricValue {
  value: number;
  labels: Record<string, string>;
  metricName?: string;
}

export interface MetricJson {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

type Trie = Map<string, Trie | MetricValue>;

/**
 * A counter whose label values are given positionally. At most `maxSeries` series. Series are
 * found through one Map per label (the label strings come from config and keep their hash), so
 * that an increment allocates nothing.
 */
export class FastCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly root: Trie = new Map();
  private readonly all: MetricValue[] = [];
  /**
   * The series inc4() found last, and its label values: compared before the Maps. Why: consecutive
   * requests mostly share their labels (a busy route), and a request evicts most of the CPU's data
   * cache, so each of the four Maps walked costs a cache miss or two (measured with --d1-misses).
   */
  private last: MetricValue | null = null;
  private l0 = '';
  private l1 = '';
  private l2 = '';
  private l3 = '';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly maxSeries = 10_000,
  ) {}

  inc(values: readonly string[], by = 1): void {
    const s = this.find(values);
    if (s !== null) s.value += by;
  }

  /** inc() by one for a counter with four labels, without an array per call. */
  inc4(a: string, b: string, c: string, d: string): void {
    if (this.last !== null && a === this.l0 && b === this.l1 && c === this.l2 && d === this.l3) {
      this.last.value++;
      return;
    }
    const s = this.find([a, b, c, d]);
    if (s === null) return;
    s.value++;
    this.last = s;
    this.l0 = a;
    this.l1 = b;
    this.l2 = c;
    this.l3 = d;
  }

  /** The series of these label values, made when there is room; null when the series are capped. */
  private find(values: readonly string[]): MetricValue | null {
    let node = this.root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i] as string) as Trie | undefined;
      if (next === undefined) {
        if (this.all.length >= this.maxSeries) return null;
        next = new Map();
        node.set(values[i] as string, next);
      }
      node = next;
    }
    const key = last < 0 ? '' : (values[last] as string);
    let s = node.get(key) as MetricValue | undefined;
    if (s === undefined) {
      if (this.all.length >= this.maxSeries) return null;
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = values[i] as string;
      });
      s = { value: 0, labels };
      node.set(key, s);
      this.all.push(s);
    }
    return s;
  }

  get(): Promise<MetricJson> {
    return Promise.resolve({ name: this.name, help: this.help, type: 'counter', values: this.all.map((v) => ({ ...v })), aggregator: 'sum' });
  }

  reset(): void {
    this.root.clear();
    this.all.length = 0;
    this.last = null;
  }
}

/** The counts of one histogram series: per bucket (not cumulative), their sum and count. */
export interface HistCounts {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface HistSeries extends HistCounts {
  readonly label: string;
}

/** Counts one observation in its bucket. */
export function observeInto(s: HistCounts, buckets: readonly number[], v: number): void {
  for (let i = 0; i < buckets.length; i++) {
    if (v <= (buckets[i] as number)) {
      (s.counts as Float64Array)[i] = (s.counts[i] as number) + 1;
      break;
    }
  }
  s.sum += v;
  s.count++;
}

/** Appends the `_bucket` (cumulative), `_sum` and `_count` samples of one series labelled `labelName="label"`. */
export function histogramSamples(out: MetricValue[], name: string, labelName: string, label: string, buckets: readonly number[], s: HistCounts): void {
  let acc = 0;
  for (let i = 0; i < buckets.length; i++) {
    acc += s.counts[i] as number;
    out.push({ value: acc, labels: { le: String(buckets[i]), [labelName]: label }, metricName: `${name}_bucket` });
  }
  out.push({ value: s.count, labels: { le: '+Inf', [labelName]: label }, metricName: `${name}_bucket` });
  out.push({ value: s.sum, labels: { [labelName]: label }, metricName: `${name}_sum` });
  out.push({ value: s.count, labels: { [labelName]: label }, metricName: `${name}_count` });
}

/** A histogram with one label, given positionally. At most `maxSeries` series. */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistSeries>();
  /** the series observed last: compared before the Map (as FastCounter.inc4) */
  private last: HistSeries | null = null;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly buckets: readonly number[],
    private readonly maxSeries = 10_000,
  ) {}

  observe(label: string, v: number): void {
    let s = this.last;
    if (s === null || s.label !== label) {
      s = this.series.get(label) ?? null;
      if (s === null) {
        if (this.series.size >= this.maxSeries) return;
        s = { counts: new Float64Array(this.buckets.length), sum: 0, count: 0, label };
        this.series.set(label, s);
      }
      this.last = s;
    }
    observeInto(s, this.buckets, v);
  }

  get(): Promise<MetricJson> {
    const values: MetricValue[] = [];
    for (const s of this.series.values()) histogramSamples(values, this.name, this.labelName, s.label, this.buckets, s);
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' });
  }

  reset(): void {
    this.series.clear();
    this.last = null;
  }
}

/** Registers a fast series in a prom-client registry. */
export function register(registry: client.Registry, metric: { readonly name: string; get(): Promise<MetricJson>; reset(): void }): void {
  registry.registerMetric(metric as unknown as client.Metric<string>);
}
