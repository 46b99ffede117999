/**
 * The export side of tracing: finished spans, already encoded as OTLP/JSON span objects, wait in a
 * bounded queue and are sent in batches to the collector's OTLP/HTTP endpoint (POST, JSON
 * encoding, one keep-alive connection pool). A span that finds the queue full, or whose batch the
 * collector did not take (an error status, a refused connection, a timeout), is dropped and
 * counted; no request ever waits for an export. One exporter per exporter setting, shared by the
 * snapshots that use it (a reload that keeps the `tracing` section keeps its queue), closed (its
 * queue sent) when the last of them is retired and when the gateway stops.
 *
 * Why not the OpenTelemetry SDK's BatchSpanProcessor and OTLP exporter: measured here (docs/
 * tracing.md), the SDK's spans, processor and exporter cost about 95 µs of CPU per request of 9
 * spans, two thirds of what the whole pipeline costs; the issue allows a tenth.
 */
import { Pool } from 'undici';
import type { CounterMetric, Logger, Services } from '../../core/services.js';
import type { TracingConfig } from './schema.js';

/** Most export requests in flight at once: the queue absorbs the rest. */
const MAX_IN_FLIGHT = 2;
/** A failed export is logged at most this often (the count is in the metric). */
const FAILURE_LOG_MS = 60_000;

/** One OTLP/HTTP JSON exporter with its queue. */
export class SpanExporter {
  private queue: string[] = [];
  private inFlight = 0;
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private lastFailureLog = 0;
  private readonly pool: Pool;
  private readonly origin: string;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  /** the start of every export body, up to the spans: resource (service.name) and scope */
  private readonly head: string;

  constructor(
    private readonly c: TracingConfig,
    private readonly dropped: CounterMetric<'reason'>,
    private readonly exported: CounterMetric,
    private readonly logger: Logger,
  ) {
    const url = new URL(c.endpoint);
    this.origin = url.origin;
    this.path = `${url.pathname}${url.search}`;
    this.pool = new Pool(url.origin, {
      connections: MAX_IN_FLIGHT,
      headersTimeout: c.export_timeout_ms,
      bodyTimeout: c.export_timeout_ms,
      connect: { timeout: c.export_timeout_ms },
    });
    this.headers = { ...c.headers, 'content-type': 'application/json' };
    this.head = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":${JSON.stringify(c.service_name)}}}]},"scopeSpans":[{"scope":{"name":"portcullis"},"spans":[`;
  }

  /** Queues the encoded spans of one request; those past the queue's bound are dropped and counted. */
  add(spans: readonly string[]): void {
    if (this.closed) return;
    const room = this.c.max_queue_spans - this.queue.length;
    if (room < spans.length) {
      if (room > 0) for (let i = 0; i < room; i++) this.queue.push(spans[i] as string);
      this.dropped.inc({ reason: 'queue_full' }, spans.length - Math.max(room, 0));
    } else for (const s of spans) this.queue.push(s);
    if (this.queue.length >= this.c.max_batch_spans) this.sendBatches();
    else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.sendBatches();
      }, this.c.flush_interval_ms);
      this.timer.unref();
    }
  }

  /** Spans queued and not yet sent (tests, the console). */
  get queued(): number {
    return this.queue.length;
  }

  private sendBatches(): void {
    while (this.queue.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      const n = Math.min(this.queue.length, this.c.max_batch_spans);
      const batch = this.queue.length === n ? this.queue : this.queue.slice(0, n);
      this.queue = this.queue.length === n ? [] : this.queue.slice(n);
      this.send(batch);
    }
    // what is left waits for a send to finish (it calls this again)
  }

  private send(batch: string[]): void {
    this.inFlight++;
    const body = `${this.head}${batch.join(',')}]}]}]}`;
    const p = this.pool
      .request({ method: 'POST', path: this.path, headers: this.headers, body })
      .then(
        async (r) => {
          await r.body.dump();
          if (r.statusCode >= 200 && r.statusCode < 300) this.exported.inc(batch.length);
          else this.failed(batch.length, `status ${r.statusCode}`);
        },
        (e: unknown) => this.failed(batch.length, (e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e))),
      )
      .finally(() => {
        this.inFlight--;
        this.pending.delete(p);
        if (this.queue.length > 0 && (this.closed || this.queue.length >= this.c.max_batch_spans || this.timer === null)) this.sendBatches();
      });
    this.pending.add(p);
  }

  private failed(n: number, why: string): void {
    this.dropped.inc({ reason: 'export_failed' }, n);
    const now = Date.now();
    if (now - this.lastFailureLog < FAILURE_LOG_MS) return;
    this.lastFailureLog = now;
    // the endpoint's origin only: its headers may hold a key
    this.logger.warn({ event: 'tracing_export_failed', endpoint: this.origin, spans: n, error: why });
  }

  /** Sends what is queued, waits for every export in flight, and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.sendBatches();
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    await this.pool.close();
  }
}

interface Entry {
  readonly exporter: SpanExporter;
  refs: number;
}

/** The settings that make an exporter: a reload that changes none of them keeps it. */
function exporterKey(c: TracingConfig): string {
  return JSON.stringify([c.endpoint, c.headers, c.service_name, c.max_queue_spans, c.max_batch_spans, c.flush_interval_ms, c.export_timeout_ms]);
}

/** The exporters of one process (kept in its services, so that they outlive snapshots). */
export class TracingExporters {
  private readonly entries = new Map<string, Entry>();
  private readonly dropped: CounterMetric<'reason'>;
  private readonly exported: CounterMetric;

  constructor(private readonly services: Services) {
    this.dropped = services.metrics.counter(
      'portcullis_tracing_spans_dropped_total',
      'Spans not exported: the export queue was full (queue_full) or the collector did not take them (export_failed).',
      ['reason'],
    );
    this.exported = services.metrics.counter('portcullis_tracing_spans_exported_total', 'Spans the collector accepted.');
  }

  /** The exporter for this config (a reference the snapshot gives back with `release`). */
  acquire(c: TracingConfig): { exporter: SpanExporter; release(): Promise<void> } {
    const key = exporterKey(c);
    let e = this.entries.get(key);
    if (e === undefined) {
      e = { exporter: new SpanExporter(c, this.dropped, this.exported, this.services.logger), refs: 0 };
      this.entries.set(key, e);
    }
    const entry = e;
    entry.refs++;
    let released = false;
    return {
      exporter: entry.exporter,
      release: async () => {
        if (released) return;
        released = true;
        if (--entry.refs > 0 || this.entries.get(key) !== entry) return;
        this.entries.delete(key);
        await entry.exporter.close();
      },
    };
  }

  /** Sends what is queued and closes every exporter (the gateway's stop). */
  async shutdown(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.exporter.close()));
  }
}

/** The exporters of these services (made on first use). */
export function tracingExporters(services: Services): TracingExporters {
  return services.keep('tracing.exporters', () => new TracingExporters(services));
}
