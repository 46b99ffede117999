/**
 * The export side of tracing: finished spans, written by the recorder straight into the encoder's
 * byte chunks (encode.ts: OTLP protobuf or JSON), wait in a bounded queue and are sent in batches
 * to the collector's OTLP/HTTP endpoint (POST, one keep-alive connection pool). A request whose
 * spans find the queue full, or a batch the collector did not take (an error status, a refused
 * connection, a timeout), is dropped and counted; no request ever waits for an export. One
 * exporter per exporter setting, shared by the snapshots that use it (a reload that keeps the
 * `tracing` section keeps its queue), closed (its queue sent) when the last of them is retired
 * and when the gateway stops.
 *
 * Why not the OpenTelemetry SDK's BatchSpanProcessor and OTLP exporter: measured here (docs/
 * tracing.md), the SDK's spans, processor and exporter cost about 95 µs of CPU per request of 9
 * spans, two thirds of what the whole pipeline costs; the issue allows a tenth.
 */
import { Pool } from 'undici';
import type { CounterMetric, Logger, Services } from '../../core/services.js';
import { spanEncoder, type SpanEncoder } from './encode.js';
import type { TracingConfig } from './schema.js';

/** Most export requests in flight at once: the queue absorbs the rest. */
const MAX_IN_FLIGHT = 2;
/** A failed export is logged at most this often (the count is in the metric). */
const FAILURE_LOG_MS = 60_000;

/** One OTLP/HTTP exporter with its queue. */
export class SpanExporter {
  /** spans written and not yet sent */
  private spans = 0;
  private inFlight = 0;
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private lastFailureLog = 0;
  private readonly pool: Pool;
  private readonly origin: string;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  private readonly encoder: SpanEncoder;

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
    this.encoder = spanEncoder(c.protocol, c.max_batch_spans, c.service_name);
    this.headers = { ...c.headers, 'content-type': this.encoder.contentType };
  }

  /**
   * The encoder to write a request's `n` spans with, then `written(n)`; null when they do not fit
   * in the queue (dropped and counted: a trace with spans missing would mislead).
   */
  reserve(n: number): SpanEncoder | null {
    if (this.closed) return null;
    if (this.spans + n > this.c.max_queue_spans) {
      this.dropped.inc({ reason: 'queue_full' }, n);
      return null;
    }
    return this.encoder;
  }

  /** The spans of `reserve(n)` are written: sends the full batches, or starts the flush timer. */
  written(n: number): void {
    this.spans += n;
    const e = this.encoder;
    if (e.batchCount > 1 || e.lastFull) this.sendBatches();
    else if (this.timer === null && e.batchCount > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.sendBatches();
      }, this.c.flush_interval_ms);
      this.timer.unref();
    }
  }

  /** Spans queued and not yet sent (tests, the console). */
  get queued(): number {
    return this.spans;
  }

  private sendBatches(): void {
    while (this.encoder.batchCount > 0 && this.inFlight < MAX_IN_FLIGHT) {
      const b = this.encoder.take();
      if (b === null) break;
      this.spans -= b.count;
      if (b.count > 0) this.send(this.encoder.body(b.parts), b.count);
    }
    // what is left waits for a send to finish (it calls this again)
  }

  private send(body: Buffer, n: number): void {
    this.inFlight++;
    const p = this.pool
      .request({ method: 'POST', path: this.path, headers: this.headers, body })
      .then(
        async (r) => {
          await r.body.dump();
          if (r.statusCode >= 200 && r.statusCode < 300) this.exported.inc(n);
          else this.failed(n, `status ${r.statusCode}`);
        },
        (e: unknown) => this.failed(n, (e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e))),
      )
      .finally(() => {
        this.inFlight--;
        this.pending.delete(p);
        const e = this.encoder;
        if (e.batchCount > 1 || (e.batchCount === 1 && (this.closed || this.timer === null))) this.sendBatches();
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
  return JSON.stringify([c.endpoint, c.protocol, c.headers, c.service_name, c.max_queue_spans, c.max_batch_spans, c.flush_interval_ms, c.export_timeout_ms]);
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
