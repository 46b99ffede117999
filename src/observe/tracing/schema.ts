/** The `tracing` config section (docs/tracing.md). */
import type { JsonSchema } from '../../core/json-schema.js';

/** `tracing` after defaults. */
export interface TracingConfig {
  enabled: boolean;
  endpoint: string;
  protocol: 'http/protobuf' | 'http/json';
  headers: Record<string, string>;
  service_name: string;
  sample_ratio: number;
  trust_incoming: 'trusted_proxies' | 'all' | 'none';
  max_queue_spans: number;
  max_batch_spans: number;
  flush_interval_ms: number;
  export_timeout_ms: number;
}

const HEADER_NAME = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";

export const tracingSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'OpenTelemetry tracing (docs/tracing.md): a SERVER span per request with a child span per stage that ran (its decision, code, WAF rule ids, cache status) and a CLIENT span for the upstream exchange, whose id goes upstream in `traceparent`; exported over OTLP/HTTP (protobuf, or JSON). Off by default.',
  properties: {
    enabled: {
      type: 'boolean',
      default: false,
      description: 'Trace requests and export the spans. Why off: it sends data to a collector that must exist first.',
    },
    endpoint: {
      type: 'string',
      pattern: '^https?://[^\\s]+$',
      default: 'http://127.0.0.1:4318/v1/traces',
      description: "The collector's OTLP/HTTP traces URL. Why this default: a local OpenTelemetry Collector's OTLP/HTTP receiver.",
    },
    protocol: {
      enum: ['http/protobuf', 'http/json'],
      default: 'http/protobuf',
      description:
        "The export encoding, by its OTEL_EXPORTER_OTLP_PROTOCOL name. Why protobuf: every OTLP/HTTP receiver takes it (JSON is optional for them), and it is about a third of JSON's bytes, which is most of a span's cost.",
    },
    headers: {
      type: 'object',
      propertyNames: { pattern: HEADER_NAME },
      additionalProperties: { type: 'string', pattern: '^[\\t\\x20-\\x7e]*$' },
      default: {},
      description: "Headers sent with every export (a vendor's API key: give it with `${env:NAME}` or `${file:PATH}`, never inline). They are never logged.",
    },
    service_name: {
      type: 'string',
      minLength: 1,
      maxLength: 128,
      default: 'portcullis',
      description: 'The `service.name` resource attribute of every span.',
    },
    sample_ratio: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 0.01,
      description:
        'Share of new traces recorded (by trace id, so that every service that samples by ratio keeps the same traces). A continued trace follows its parent: recorded when the trusted `traceparent` says sampled, never otherwise. Why 1%: enough traces to see the shape of traffic at any volume, at a cost that does not show in throughput.',
    },
    trust_incoming: {
      enum: ['trusted_proxies', 'all', 'none'],
      default: 'trusted_proxies',
      description:
        'Whose `traceparent`/`tracestate` is continued: peers in `trusted_proxies`, every client, or none. Any other request starts a new trace, and what the client sent is never forwarded. Why trusted proxies: a client that picks its trace id can attach its requests to other traces or force sampling on.',
    },
    max_queue_spans: {
      type: 'integer',
      minimum: 64,
      maximum: 1000000,
      default: 4096,
      description:
        'Most finished spans waiting for export; spans past it are dropped and counted in `portcullis_tracing_spans_dropped_total`. Why 4096: about half a second of fully sampled traffic at 1,000 requests/s with 8 spans each, bounded at a few MB.',
    },
    max_batch_spans: {
      type: 'integer',
      minimum: 1,
      maximum: 100000,
      default: 512,
      description: 'Most spans in one export request. Why 512: the OpenTelemetry SDK default, well under the request size limits of collectors.',
    },
    flush_interval_ms: {
      type: 'integer',
      minimum: 10,
      maximum: 600000,
      default: 1000,
      description: 'Longest time a finished span waits before its batch is sent. Why 1 s: spans appear in the trace view promptly, and batches stay large.',
    },
    export_timeout_ms: {
      type: 'integer',
      minimum: 100,
      maximum: 600000,
      default: 10000,
      description: 'Time one export request may take before it is abandoned (its spans counted as dropped). Why 10 s: the OTLP exporter default.',
    },
  },
};
