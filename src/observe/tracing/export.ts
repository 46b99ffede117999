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
import { Buffer } from 'node:buffer';
import { Pool } from 'undici';
import type { CounterMetric, Logger, Services } from '../../core/services.js';
import type { TracingConfig } from './schema.js';

/** Most export requests in flight at once: the queue absorbs the rest. */
const MAX_IN_FLIGHT = 2;
/** A failed export is logged at most this often (the count is in the metric). */
const FAILURE_LOG_MS = 60_000;
/**
 * Spans are written into buffers of this size as they are queued: measured here, a batch kept as
 * strings and joined when sent cost five times as much (the strings of many requests outlive the
 * young generation, and a batch's body is a large string); bytes outside the heap cost the
 * collector nothing.
 */
const CHUNK = 64 * 1024;
const COMMA = 0x2c;

/** Spans written, waiting to be sent as one export request. */
interface Batch {
  readonly parts: Buffer[];
  count: number;
}

/** One OTLP/HTTP JSON exporter with its queue. */
export class SpanExporter {
  /** batches ready to send, oldest first; the last one is being filled */
  private batches: Batch[] = [];
  /** spans in `batches` */
  private spans = 0;
  private buf: Buffer = Buffer.allocUnsafe(CHUNK);
  private off = 0;
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
  private readonly head: Buffer;
  private static readonly TAIL = Buffer.from(']}]}]}');

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
    this.head = Buffer.from(
      `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":${JSON.stringify(c.service_name)}}}]},"scopeSpans":[{"scope":{"name":"portcullis"},"spans":[`,
    );
  }

  /** Queues the encoded spans of one request; those past the queue's bound are dropped and counted. */
  add(spans: readonly string[]): void {
    if (this.closed) return;
    const room = this.c.max_queue_spans - this.spans;
    const n = Math.min(room, spans.length);
    if (n < spans.length) this.dropped.inc({ reason: 'queue_full' }, spans.length - n);
    for (let i = 0; i < n; i++) this.write(spans[i] as string);
    const last = this.batches[this.batches.length - 1];
    if (this.batches.length > 1 || (last !== undefined && last.count >= this.c.max_batch_spans)) this.sendBatches();
    else if (this.timer === null && last !== undefined) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.sendBatches();
      }, this.c.flush_interval_ms);
      this.timer.unref();
    }
  }

  /** Writes one encoded span into the batch being filled (a new batch when that one is full). */
  private write(span: string): void {
    let b = this.batches[this.batches.length - 1];
    if (b === undefined || b.count >= this.c.max_batch_spans) {
      this.seal();
      b = { parts: [], count: 0 };
      this.batches.push(b);
    }
    // at most 3 bytes per UTF-16 unit, and the comma
    const need = span.length * 3 + 1;
    if (this.off + need > this.buf.length) {
      this.seal();
      this.buf = Buffer.allocUnsafe(Math.max(CHUNK, need));
    }
    if (b.count > 0) this.buf[this.off++] = COMMA;
    this.off += this.buf.write(span, this.off, 'utf8');
    b.count++;
    this.spans++;
  }

  /** Ends the current chunk: what was written goes to the batch being filled. */
  private seal(): void {
    const b = this.batches[this.batches.length - 1];
    if (this.off > 0 && b !== undefined) {
      b.parts.push(this.buf.subarray(0, this.off));
      this.buf = this.buf.subarray(this.off);
      if (this.buf.length < 1024) this.buf = Buffer.allocUnsafe(CHUNK);
      this.off = 0;
    }
  }

  /** Spans queued and not yet sent (tests, the console). */
  get queued(): number {
    return this.spans;
  }

  private sendBatches(): void {
    while (this.batches.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      if (this.batches.length === 1) this.seal();
      const b = this.batches.shift() as Batch;
      this.spans -= b.count;
      if (b.count > 0) this.send(b);
    }
    // what is left waits for a send to finish (it calls this again)
  }

  private send(batch: Batch): void {
    this.inFlight++;
    const body = Buffer.concat([this.head, ...batch.parts, SpanExporter.TAIL]);
    const n = batch.count;
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
        if (this.batches.length > 1 || (this.batches.length === 1 && (this.closed || this.timer === null))) this.sendBatches();
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
