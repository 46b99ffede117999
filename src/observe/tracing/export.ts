/**
 * The export side of tracing: one OpenTelemetry tracer provider per exporter setting, shared by
 * the snapshots that use it (a reload that keeps the `tracing` section keeps the provider and its
 * queue), shut down (its queue flushed) when the last of them is retired and when the gateway
 * stops. Spans go through a bounded queue (the SDK's BatchSpanProcessor) to the OTLP/HTTP JSON
 * exporter; a span that finds the queue full, or whose export failed, is dropped and counted,
 * and the request it belongs to never waits for it.
 */
import { TraceFlags } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { Tracer } from '@opentelemetry/api';
import type { Context as OtelContext } from '@opentelemetry/api';
import type { CounterMetric, Services } from '../../core/services.js';
import type { TracingConfig } from './schema.js';

/** Counts what the exporter was handed and what it failed to deliver. */
class CountingExporter implements SpanExporter {
  /** spans handed to `export` so far (taken off the processor's queue) */
  handed = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly dropped: CounterMetric<'reason'>,
    private readonly exported: CounterMetric,
  ) {}

  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.handed += spans.length;
    this.inner.export(spans, (r) => {
      if (r.code === ExportResultCode.SUCCESS) this.exported.inc(spans.length);
      else this.dropped.inc({ reason: 'export_failed' }, spans.length);
      done(r);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * The batch processor behind a bound it enforces itself, so that each span it would drop is
 * counted (the SDK's processor drops silently): the spans accepted and not yet handed to the
 * exporter are its queue.
 */
class BoundedProcessor implements SpanProcessor {
  private accepted = 0;

  constructor(
    private readonly batch: BatchSpanProcessor,
    private readonly exporter: CountingExporter,
    private readonly max: number,
    private readonly dropped: CounterMetric<'reason'>,
  ) {}

  onStart(_span: Span, _parent: OtelContext): void {}
  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.accepted - this.exporter.handed >= this.max) {
      this.dropped.inc({ reason: 'queue_full' });
      return;
    }
    this.accepted++;
    this.batch.onEnd(span);
  }
  forceFlush(): Promise<void> {
    return this.batch.forceFlush();
  }
  shutdown(): Promise<void> {
    return this.batch.shutdown();
  }
}

interface Entry {
  readonly provider: BasicTracerProvider;
  readonly tracer: Tracer;
  refs: number;
}

/** The settings that make a provider: a reload that changes none of them keeps it. */
function providerKey(c: TracingConfig): string {
  return JSON.stringify([
    c.endpoint,
    c.headers,
    c.service_name,
    c.sample_ratio,
    c.max_queue_spans,
    c.max_batch_spans,
    c.flush_interval_ms,
    c.export_timeout_ms,
  ]);
}

/** The instrumentation scope of the gateway's spans. */
const SCOPE = '@portcullis/gateway';

/** The providers of one process (kept in its services, so that they outlive snapshots). */
export class TracingProviders {
  private readonly entries = new Map<string, Entry>();
  private readonly dropped: CounterMetric<'reason'>;
  private readonly exported: CounterMetric;

  constructor(services: Services) {
    this.dropped = services.metrics.counter(
      'portcullis_tracing_spans_dropped_total',
      'Spans not exported: the export queue was full (queue_full) or the collector did not take them (export_failed).',
      ['reason'],
    );
    this.exported = services.metrics.counter('portcullis_tracing_spans_exported_total', 'Spans the collector accepted.');
  }

  /** The tracer for this config (a reference the snapshot gives back with `release`). */
  acquire(c: TracingConfig): { tracer: Tracer; release(): Promise<void> } {
    const key = providerKey(c);
    let e = this.entries.get(key);
    if (e === undefined) {
      const exporter = new CountingExporter(
        new OTLPTraceExporter({ url: c.endpoint, headers: { ...c.headers }, timeoutMillis: c.export_timeout_ms }),
        this.dropped,
        this.exported,
      );
      const batch = new BatchSpanProcessor(exporter, {
        maxQueueSize: c.max_queue_spans,
        maxExportBatchSize: Math.min(c.max_batch_spans, c.max_queue_spans),
        scheduledDelayMillis: c.flush_interval_ms,
        exportTimeoutMillis: c.export_timeout_ms,
      });
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': c.service_name }),
        sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(c.sample_ratio) }),
        spanProcessors: [new BoundedProcessor(batch, exporter, c.max_queue_spans, this.dropped)],
      });
      e = { provider, tracer: provider.getTracer(SCOPE), refs: 0 };
      this.entries.set(key, e);
    }
    const entry = e;
    entry.refs++;
    let released = false;
    return {
      tracer: entry.tracer,
      release: async () => {
        if (released) return;
        released = true;
        if (--entry.refs > 0 || this.entries.get(key) !== entry) return;
        this.entries.delete(key);
        await entry.provider.shutdown();
      },
    };
  }

  /** Sends what is queued and stops every provider (the gateway's stop). */
  async shutdown(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.provider.shutdown()));
  }
}

/** The providers of these services (made on first use). */
export function tracingProviders(services: Services): TracingProviders {
  return services.keep('tracing.providers', () => new TracingProviders(services));
}
