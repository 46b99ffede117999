/**
 * Span encoders: a finished request's spans are written, field by field, straight into the
 * export queue's byte chunks, in OTLP's protobuf encoding (`http/protobuf`, the collectors'
 * default: about a third of the bytes of JSON) or its JSON encoding (`http/json`). Nothing is
 * built as an intermediate object or string: measured here (docs/tracing.md), a span's cost was
 * mostly its bytes. The encoder also keeps the batches: the spans written since the last one was
 * taken for export, each batch closed at `maxBatch` spans.
 *
 * The protobuf field numbers are those of opentelemetry-proto (collector/trace/v1/trace_service.proto,
 * trace/v1/trace.proto, common/v1/common.proto); the tests decode what is written with the field
 * numbers of the SDK's own serializer (@opentelemetry/otlp-transformer) and compare.
 */
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';

/** The export protocols (the OTEL_EXPORTER_OTLP_PROTOCOL names). */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** Span kinds and the error status code (opentelemetry-proto trace.proto). */
export const KIND_INTERNAL = 1;
export const KIND_SERVER = 2;
export const KIND_CLIENT = 3;

/** Spans written, waiting to be sent as one export request. */
interface Batch {
  readonly parts: Buffer[];
  count: number;
}

/**
 * Chunks are this size: measured here, spans kept as strings and joined when sent cost five times
 * as much (the strings of many requests outlive the young generation); bytes outside the heap cost
 * the collector nothing.
 */
const CHUNK = 64 * 1024;
/** Most blocks `cached` keeps (one per stage of the config, in practice). */
const MAX_BLOCKS = 1024;
/** A span's bytes at most, besides its strings (which are bounded by the recorder). */
const SPAN_FIXED = 512;
const TIME_ORIGIN = performance.timeOrigin;

/**
 * A span's strings are short and almost always ASCII: copied by a loop, they cost a fraction of
 * `Buffer#write` (measured: its argument handling and native call were 40% of encoding). Returns
 * the offset after `s`, or -1 (nothing usable written) when `s` holds a non-ASCII character.
 */
function putAscii(buf: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return -1;
    buf[o++] = c;
  }
  return o;
}
/** UTF-8 bytes of `s` (its length when ASCII, found without a native call). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s);
  return s.length;
}
/** Writes `s` (whose UTF-8 length the caller knows) at `o`; the offset after it. */
function putUtf8(buf: Buffer, o: number, s: string): number {
  const end = putAscii(buf, o, s);
  return end >= 0 ? end : o + buf.write(s, o);
}
/** Nibble values of hex digits, by char code (ids are lowercase hex, checked where they come from). */
const NIBBLE = new Uint8Array(128);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) NIBBLE[97 + i] = NIBBLE[65 + i] = 10 + i;
/** Writes the `n` bytes of a hex id at `o`. */
function putHex(buf: Buffer, o: number, hex: string, n: number): number {
  for (let i = 0; i < n; i++) buf[o++] = ((NIBBLE[hex.charCodeAt(2 * i) & 0x7f] as number) << 4) | (NIBBLE[hex.charCodeAt(2 * i + 1) & 0x7f] as number);
  return o;
}

/** Writes spans into chunks, as batches. */
export abstract class SpanEncoder {
  abstract readonly contentType: string;
  private batches: Batch[] = [];
  protected buf: Buffer = Buffer.allocUnsafe(CHUNK);
  protected off = 0;
  /** where the span being written starts in `buf` (its bytes move with it to a new chunk) */
  protected spanStart = 0;

  constructor(private readonly maxBatch: number) {}

  /** Starts a span (its ids as lowercase hex; `parentId` '' for a root span; times from performance.now()). */
  abstract begin(
    traceId: string,
    spanId: string,
    parentId: string,
    traceState: string | null,
    name: string,
    kind: number,
    startMs: number,
    endMs: number,
  ): void;
  /** A string attribute. */
  abstract str(key: string, value: string): void;
  /** An integer attribute (a non-negative safe integer). */
  abstract int(key: string, value: number): void;
  /** An array-of-strings attribute. */
  abstract strs(key: string, values: readonly string[]): void;
  /** The span ends with status ERROR (after its attributes), then `end`. */
  abstract error(): void;
  /** Ends the span: it counts in its batch. */
  abstract end(): void;
  /** The body of an export request holding these spans (the parts of one batch). */
  abstract body(parts: readonly Buffer[]): Buffer;

  /** Batches not yet taken (the last one is being filled). */
  get batchCount(): number {
    return this.batches.length;
  }

  /** Whether the batch being filled is full. */
  get lastFull(): boolean {
    const b = this.batches[this.batches.length - 1];
    return b !== undefined && b.count >= this.maxBatch;
  }

  /** The oldest batch, for export (the one being filled, when it is the only one); null when none. */
  take(): { readonly parts: readonly Buffer[]; readonly count: number } | null {
    if (this.batches.length === 1) this.seal();
    return this.batches.shift() ?? null;
  }

  /** Before a span: a new batch when the current one is full; room for the span's fixed part. */
  protected open(): Batch {
    let b = this.batches[this.batches.length - 1];
    if (b === undefined || b.count >= this.maxBatch) {
      this.seal();
      b = { parts: [], count: 0 };
      this.batches.push(b);
    }
    this.spanStart = this.off;
    this.room(SPAN_FIXED);
    return b;
  }

  protected close(): void {
    (this.batches[this.batches.length - 1] as Batch).count++;
  }

  /** Makes room for `n` more bytes: a new chunk, to which the span written so far moves. */
  protected room(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const partial = this.off - this.spanStart;
    const next = Buffer.allocUnsafe(Math.max(CHUNK, partial + n + SPAN_FIXED));
    this.buf.copy(next, 0, this.spanStart, this.off);
    this.off = this.spanStart;
    this.seal();
    this.buf = next;
    this.spanStart = 0;
    this.off = partial;
  }

  /** Ends the current chunk: what was written before the span being written goes to the open batch. */
  private seal(): void {
    const b = this.batches[this.batches.length - 1];
    if (this.off > 0 && b !== undefined) {
      b.parts.push(this.buf.subarray(0, this.off));
      this.buf = this.buf.subarray(this.off);
      if (this.buf.length < SPAN_FIXED * 2) this.buf = Buffer.allocUnsafe(CHUNK);
      this.off = 0;
      this.spanStart = 0;
    }
  }

  /** Writes a string (UTF-8) at the end, making room for it first. */
  protected utf8(s: string): void {
    this.room(s.length * 3);
    this.off = putUtf8(this.buf, this.off, s);
  }

  /** Writes bytes made once (keys, tags) at the end (room is the caller's). */
  protected bytes(b: Uint8Array): void {
    this.buf.set(b, this.off);
    this.off += b.length;
  }

  /** Blocks made by `cached`, by key. */
  private readonly blocks = new Map<string, Buffer>();

  /**
   * Writes what `write` writes (attributes, at least one), made once per `key` and copied after:
   * a span's attributes that are the same on every request (a stage's id, phase and decision).
   * The bytes must not depend on where they are written, which holds for attributes written
   * right after `begin`. Keys come from the config (stage ids), so the map is bounded by it, and
   * by MAX_BLOCKS.
   */
  cached(key: string, write: () => void): void {
    const block = this.blocks.get(key);
    if (block !== undefined) {
      this.room(block.length);
      this.bytes(block);
      this.afterCached();
      return;
    }
    const from = this.off - this.spanStart;
    write();
    if (this.blocks.size < MAX_BLOCKS) this.blocks.set(key, Buffer.from(this.buf.subarray(this.spanStart + from, this.off)));
  }

  /** The encoder's state after a copied block (JSON: the attribute array is open). */
  protected afterCached(): void {}
}

// ---- protobuf -------------------------------------------------------------------------------------

/** Bytes of `n` as a varint. */
function varintLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}
function putVarint(buf: Buffer, off: number, n: number): number {
  while (n >= 0x80) {
    buf[off++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[off++] = n;
  return off;
}
/** A length-delimited field's tag and length, and `body`, as bytes. */
function field(tag: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + varintLength(body.length) + body.length);
  out[0] = tag;
  const o = putVarint(out, 1, body.length);
  out.set(body, o);
  return out;
}

// Field tags (field number << 3 | wire type): 2 length-delimited, 1 fixed64, 0 varint.
const T_SPANS = 0x12; // ScopeSpans.spans = 2
const T_TRACE_ID = 0x0a; // Span.trace_id = 1
const T_SPAN_ID = 0x12; // Span.span_id = 2
const T_TRACE_STATE = 0x1a; // Span.trace_state = 3
const T_PARENT = 0x22; // Span.parent_span_id = 4
const T_NAME = 0x2a; // Span.name = 5
const T_KIND = 0x30; // Span.kind = 6
const T_START = 0x39; // Span.start_time_unix_nano = 7
const T_END = 0x41; // Span.end_time_unix_nano = 8
const T_ATTR = 0x4a; // Span.attributes = 9
const T_STATUS = 0x7a; // Span.status = 15
const T_KEY = 0x0a; // KeyValue.key = 1
const T_VALUE = 0x12; // KeyValue.value = 2
const T_STRING = 0x0a; // AnyValue.string_value = 1
const T_INT = 0x18; // AnyValue.int_value = 3
const T_ARRAY = 0x2a; // AnyValue.array_value = 5
const T_VALUES = 0x0a; // ArrayValue.values = 1
/** Status { code = 3: STATUS_CODE_ERROR (2) } */
const STATUS_ERROR = Buffer.from([T_STATUS, 2, 0x18, 2]);
/** Room kept for a span's length (a span is under 2 MiB: three varint bytes). */
const LEN_ROOM = 3;

/** OTLP protobuf (ExportTraceServiceRequest). */
export class ProtoEncoder extends SpanEncoder {
  readonly contentType = 'application/x-protobuf';
  /** each key's `KeyValue.key` field, made once */
  private readonly keys = new Map<string, Buffer>();
  /** Resource and scope, up to the spans (ResourceSpans.resource, ScopeSpans.scope) */
  private readonly resource: Buffer;
  private readonly scope: Buffer;

  constructor(maxBatch: number, serviceName: string) {
    super(maxBatch);
    const name = field(T_STRING, Buffer.from(serviceName));
    const kv = Buffer.concat([field(T_KEY, Buffer.from('service.name')), field(T_VALUE, name)]);
    this.resource = field(0x0a, field(0x0a, kv)); // ResourceSpans.resource = 1 { Resource.attributes = 1 }
    this.scope = field(0x0a, field(0x0a, Buffer.from('portcullis'))); // ScopeSpans.scope = 1 { name = 1 }
  }

  private key(k: string): Buffer {
    let b = this.keys.get(k);
    if (b === undefined) {
      b = field(T_KEY, Buffer.from(k));
      this.keys.set(k, b);
    }
    return b;
  }

  begin(traceId: string, spanId: string, parentId: string, traceState: string | null, name: string, kind: number, startMs: number, endMs: number): void {
    this.open();
    const buf = this.buf;
    let o = this.off;
    buf[o++] = T_SPANS;
    o += LEN_ROOM;
    buf[o++] = T_TRACE_ID;
    buf[o++] = 16;
    o = putHex(buf, o, traceId, 16);
    buf[o++] = T_SPAN_ID;
    buf[o++] = 8;
    o = putHex(buf, o, spanId, 8);
    if (parentId !== '') {
      buf[o++] = T_PARENT;
      buf[o++] = 8;
      o = putHex(buf, o, parentId, 8);
    }
    buf[o++] = T_KIND;
    buf[o++] = kind;
    buf[o++] = T_START;
    o = putNanos(buf, o, startMs);
    buf[o++] = T_END;
    o = putNanos(buf, o, endMs);
    this.off = o;
    if (traceState !== null) this.lengthDelimited(T_TRACE_STATE, traceState);
    this.lengthDelimited(T_NAME, name);
  }

  private lengthDelimited(tag: number, s: string): void {
    const n = utf8Length(s);
    this.room(n + 6);
    this.buf[this.off++] = tag;
    this.off = putUtf8(this.buf, putVarint(this.buf, this.off, n), s);
  }

  /** A KeyValue up to its value's fields: tag and length, the key, the value's tag and length `any` (with room for it). */
  private attr(key: string, any: number): Buffer {
    const k = this.key(key);
    const kv = k.length + 1 + varintLength(any) + any;
    this.room(kv + 6);
    const buf = this.buf;
    buf[this.off++] = T_ATTR;
    this.off = putVarint(buf, this.off, kv);
    this.bytes(k);
    buf[this.off++] = T_VALUE;
    this.off = putVarint(buf, this.off, any);
    return buf;
  }

  str(key: string, value: string): void {
    const n = utf8Length(value);
    const buf = this.attr(key, 1 + varintLength(n) + n);
    buf[this.off++] = T_STRING;
    this.off = putUtf8(buf, putVarint(buf, this.off, n), value);
  }

  int(key: string, value: number): void {
    const buf = this.attr(key, 1 + varintLength(value));
    buf[this.off++] = T_INT;
    this.off = putVarint(buf, this.off, value);
  }

  strs(key: string, values: readonly string[]): void {
    let arr = 0;
    const lens = values.map((v) => {
      const n = utf8Length(v);
      const any = 1 + varintLength(n) + n;
      arr += 1 + varintLength(any) + any;
      return n;
    });
    const buf = this.attr(key, 1 + varintLength(arr) + arr);
    buf[this.off++] = T_ARRAY;
    this.off = putVarint(buf, this.off, arr);
    values.forEach((v, i) => {
      const n = lens[i] as number;
      buf[this.off++] = T_VALUES;
      this.off = putVarint(buf, this.off, 1 + varintLength(n) + n);
      buf[this.off++] = T_STRING;
      this.off = putUtf8(buf, putVarint(buf, this.off, n), v);
    });
  }

  error(): void {
    this.room(STATUS_ERROR.length);
    this.bytes(STATUS_ERROR);
  }

  end(): void {
    // the span's length goes in the room kept after its tag; a shorter varint moves the body back
    const lenAt = this.spanStart + 1;
    const bodyAt = lenAt + LEN_ROOM;
    const n = this.off - bodyAt;
    const w = varintLength(n);
    putVarint(this.buf, lenAt, n);
    if (w < LEN_ROOM) {
      this.buf.copyWithin(lenAt + w, bodyAt, this.off);
      this.off -= LEN_ROOM - w;
    }
    this.close();
  }

  body(parts: readonly Buffer[]): Buffer {
    let spans = 0;
    for (const p of parts) spans += p.length;
    const scopeSpans = this.scope.length + spans;
    const resourceSpans = this.resource.length + 1 + varintLength(scopeSpans) + scopeSpans;
    const head = Buffer.allocUnsafe(1 + varintLength(resourceSpans) + this.resource.length + 1 + varintLength(scopeSpans) + this.scope.length);
    let o = 0;
    head[o++] = 0x0a; // ExportTraceServiceRequest.resource_spans = 1
    o = putVarint(head, o, resourceSpans);
    o += this.resource.copy(head, o);
    head[o++] = 0x12; // ResourceSpans.scope_spans = 2
    o = putVarint(head, o, scopeSpans);
    this.scope.copy(head, o);
    return Buffer.concat([head, ...parts]);
  }
}

/** performance.now() milliseconds as OTLP's Unix nanoseconds, a little-endian fixed64 (microsecond precision, exact). */
function putNanos(buf: Buffer, o: number, ms: number): number {
  const micros = Math.round((TIME_ORIGIN + ms) * 1000);
  // micros < 2^53; micros * 1000 is not: multiply the two 32-bit halves apart
  const hi = Math.floor(micros / 0x100000000);
  const lo = (micros - hi * 0x100000000) * 1000;
  const carry = Math.floor(lo / 0x100000000);
  buf.writeUInt32LE(lo - carry * 0x100000000, o);
  buf.writeUInt32LE(hi * 1000 + carry, o + 4);
  return o + 8;
}

// ---- JSON ------------------------------------------------------------------------------------------

const COMMA = 0x2c;

/** OTLP/JSON (the protobuf JSON mapping: hex ids, decimal-string nanoseconds). */
export class JsonEncoder extends SpanEncoder {
  readonly contentType = 'application/json';
  private readonly head: Buffer;
  private static readonly TAIL = Buffer.from(']}]}]}');
  /** whether the span being written has had an attribute (its array is open) */
  private attrs = false;

  constructor(maxBatch: number, serviceName: string) {
    super(maxBatch);
    this.head = Buffer.from(
      `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":${JSON.stringify(serviceName)}}}]},"scopeSpans":[{"scope":{"name":"portcullis"},"spans":[`,
    );
  }

  begin(traceId: string, spanId: string, parentId: string, traceState: string | null, name: string, kind: number, startMs: number, endMs: number): void {
    const b = this.open();
    if (b.count > 0) this.buf[this.off++] = COMMA;
    this.attrs = false;
    this.utf8(
      `{"traceId":"${traceId}","spanId":"${spanId}"${parentId === '' ? '' : `,"parentSpanId":"${parentId}"`}${traceState === null ? '' : `,"traceState":${JSON.stringify(traceState)}`}` +
        `,"name":${JSON.stringify(name)},"kind":${kind},"startTimeUnixNano":"${nanos(startMs)}","endTimeUnixNano":"${nanos(endMs)}"`,
    );
  }

  private attr(key: string, value: string): void {
    this.utf8(`${this.attrs ? ',' : ',"attributes":['}{"key":"${key}","value":${value}}`);
    this.attrs = true;
  }

  str(key: string, value: string): void {
    this.attr(key, `{"stringValue":${JSON.stringify(value)}}`);
  }

  int(key: string, value: number): void {
    this.attr(key, `{"intValue":"${value}"}`);
  }

  strs(key: string, values: readonly string[]): void {
    this.attr(key, `{"arrayValue":{"values":[${values.map((v) => `{"stringValue":${JSON.stringify(v)}}`).join(',')}]}}`);
  }

  protected override afterCached(): void {
    this.attrs = true;
  }

  private closeAttrs(): void {
    if (!this.attrs) return;
    this.utf8(']');
    this.attrs = false;
  }

  error(): void {
    this.closeAttrs();
    this.utf8(',"status":{"code":2}');
  }

  end(): void {
    this.closeAttrs();
    this.utf8('}');
    this.close();
  }

  body(parts: readonly Buffer[]): Buffer {
    return Buffer.concat([this.head, ...parts, JsonEncoder.TAIL]);
  }
}

/** performance.now() milliseconds as OTLP/JSON's Unix nanoseconds (a decimal string, microsecond precision). */
function nanos(ms: number): string {
  return `${Math.round((TIME_ORIGIN + ms) * 1000)}000`;
}

/** The encoder of a protocol. */
export function spanEncoder(protocol: OtlpProtocol, maxBatch: number, serviceName: string): SpanEncoder {
  return protocol === 'http/json' ? new JsonEncoder(maxBatch, serviceName) : new ProtoEncoder(maxBatch, serviceName);
}
