/**
 * Reading OTLP/JSON, and OTLP protobuf (opentelemetry-proto: collector/trace/v1/trace_service.proto,
 * trace/v1/trace.proto, common/v1/common.proto) by the wire format alone, so that what the gateway
 * writes is read by code that shares nothing with its encoder; test/integration/tracing.test.ts
 * checks this reading against a span the SDK's own serializer wrote.
 */
import { Buffer } from 'node:buffer';

/** One span as a receiver decoded it. */
export interface ReceivedSpan {
  service: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  /** start and end, Unix nanoseconds */
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  status: number;
}

/** One protobuf field as the wire format has it (varint and fixed64 as bigint, length-delimited as bytes). */
interface WireField {
  n: number;
  v: bigint | Uint8Array;
}
/** Decodes one protobuf message into its fields, by the wire format alone; throws on bytes that are not one. */
export function wireFields(b: Uint8Array): WireField[] {
  const out: WireField[] = [];
  let o = 0;
  const varint = (): bigint => {
    let r = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const x = b[o++];
      if (x === undefined || shift > 63n) throw new Error('truncated varint');
      r |= BigInt(x & 0x7f) << shift;
      if (x < 0x80) return r;
    }
  };
  while (o < b.length) {
    const tag = Number(varint());
    const n = tag >>> 3;
    const wt = tag & 7;
    if (wt === 0) out.push({ n, v: varint() });
    else if (wt === 1) {
      if (o + 8 > b.length) throw new Error('truncated fixed64');
      out.push({ n, v: Buffer.from(b.subarray(o, o + 8)).readBigUInt64LE() });
      o += 8;
    } else if (wt === 2) {
      const len = Number(varint());
      if (o + len > b.length) throw new Error('truncated field');
      out.push({ n, v: b.subarray(o, o + len) });
      o += len;
    } else if (wt === 5) o += 4;
    else throw new Error(`wire type ${wt}`);
  }
  return out;
}
const bytesOf = (fs: WireField[], n: number): Uint8Array[] => fs.filter((f) => f.n === n && f.v instanceof Uint8Array).map((f) => f.v as Uint8Array);
const oneBytes = (fs: WireField[], n: number): Uint8Array | undefined => bytesOf(fs, n)[0];
const numOf = (fs: WireField[], n: number): bigint | undefined => fs.find((f) => f.n === n && typeof f.v === 'bigint')?.v as bigint | undefined;
const text = (b: Uint8Array | undefined): string => (b === undefined ? '' : Buffer.from(b).toString('utf8'));
const hex = (b: Uint8Array | undefined): string => (b === undefined ? '' : Buffer.from(b).toString('hex'));

/** AnyValue (common.proto): string_value 1, bool_value 2, int_value 3, double_value 4, array_value 5 { values 1 } */
function protoValue(b: Uint8Array): unknown {
  const fs = wireFields(b);
  const f = fs[0];
  if (f === undefined) return null;
  if (f.n === 1) return text(f.v as Uint8Array);
  if (f.n === 2) return f.v === 1n;
  if (f.n === 3) return Number(f.v as bigint);
  if (f.n === 5) return bytesOf(wireFields(f.v as Uint8Array), 1).map(protoValue);
  return null;
}
/** KeyValue list: key 1, value 2 */
function protoAttrs(list: Uint8Array[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list) {
    const fs = wireFields(kv);
    const v = oneBytes(fs, 2);
    out[text(oneBytes(fs, 1))] = v === undefined ? null : protoValue(v);
  }
  return out;
}
/** An OTLP/HTTP protobuf body (ExportTraceServiceRequest, trace_service.proto and trace.proto) as spans. */
export function protoSpans(body: Uint8Array): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of bytesOf(wireFields(body), 1)) {
    const rsf = wireFields(rs);
    const resource = oneBytes(rsf, 1);
    const service = String(protoAttrs(resource === undefined ? [] : bytesOf(wireFields(resource), 1))['service.name']);
    for (const ss of bytesOf(rsf, 2))
      for (const sp of bytesOf(wireFields(ss), 2)) {
        const f = wireFields(sp);
        const status = oneBytes(f, 15);
        spans.push({
          service,
          traceId: hex(oneBytes(f, 1)),
          spanId: hex(oneBytes(f, 2)),
          parentSpanId: hex(oneBytes(f, 4)),
          name: text(oneBytes(f, 5)),
          kind: Number(numOf(f, 6) ?? 0n),
          startNs: numOf(f, 7) ?? 0n,
          endNs: numOf(f, 8) ?? 0n,
          attributes: protoAttrs(bytesOf(f, 9)),
          status: status === undefined ? 0 : Number(numOf(wireFields(status), 3) ?? 0n),
        });
      }
  }
  return spans;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
function jsonValue(v: OtlpValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(jsonValue);
  return null;
}
function jsonAttrs(list: { key: string; value: OtlpValue }[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list ?? []) out[a.key] = jsonValue(a.value);
  return out;
}

/** An OTLP/HTTP JSON body (the protobuf JSON mapping) as spans. */
export function jsonSpans(body: Uint8Array): ReceivedSpan[] {
  const doc = JSON.parse(Buffer.from(body).toString('utf8')) as {
    resourceSpans: {
      resource: { attributes: { key: string; value: OtlpValue }[] };
      scopeSpans: {
        spans: {
          name: string;
          kind: number;
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          startTimeUnixNano: string;
          endTimeUnixNano: string;
          attributes?: { key: string; value: OtlpValue }[];
          status?: { code?: number };
        }[];
      }[];
    }[];
  };
  const spans: ReceivedSpan[] = [];
  for (const rs of doc.resourceSpans) {
    const service = String(jsonAttrs(rs.resource.attributes)['service.name']);
    for (const ss of rs.scopeSpans)
      for (const s of ss.spans)
        spans.push({
          service,
          name: s.name,
          kind: s.kind,
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(s.endTimeUnixNano),
          attributes: jsonAttrs(s.attributes),
          status: s.status?.code ?? 0,
        });
  }
  return spans;
}
