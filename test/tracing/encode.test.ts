/**
 * The span encoders (src/observe/tracing/encode.ts), read back by code that shares nothing with
 * them: OTLP protobuf by the wire format (test/helpers/otlp.ts), OTLP/JSON by JSON.parse. Spans
 * with non-ASCII and long strings, many of them, so that batches close at their bound and spans
 * move to new chunks mid-write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, spanEncoder, type OtlpProtocol } from '../../src/observe/tracing/encode.js';
import { jsonSpans, protoSpans, type ReceivedSpan } from '../helpers/otlp.js';

interface Written {
  traceId: string;
  spanId: string;
  parentId: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attrs: [string, string | number | string[]][];
  error: boolean;
}

const hex = (i: number, n: number): string => (i + 1).toString(16).padStart(n, '0');
const VALUES = ['plain', 'välue', '漢字 path', 'emoji 🚪 end', `/long/${'é'.repeat(700)}${'x'.repeat(1400)}`, ''];

function spans(n: number): Written[] {
  const out: Written[] = [];
  for (let i = 0; i < n; i++) {
    const v = VALUES[i % VALUES.length] as string;
    out.push({
      traceId: `${hex(i, 16)}${hex(i * 7, 16)}`,
      spanId: hex(i * 13, 16),
      parentId: i % 5 === 0 ? '' : hex(i * 3, 16),
      name: i % 3 === 0 ? `GET ${v.slice(0, 40)}` : 'waf',
      kind: [KIND_INTERNAL, KIND_SERVER, KIND_CLIENT][i % 3] as number,
      startMs: 1000 + i * 1.5,
      endMs: 1000 + i * 1.5 + 0.25,
      attrs: [
        ['portcullis.stage.id', `stage-${i}`],
        ['url.path', v],
        ['http.response.status_code', 200 + (i % 300)],
        ['portcullis.waf.rule_ids', i % 4 === 0 ? ['sqli-100', 'xss-ü', v.slice(0, 10)] : []],
        ['server.port', 2 ** 31 + i],
      ],
      error: i % 7 === 0,
    });
  }
  return out;
}

/** Unix nanoseconds of a performance.now() time, as the encoders write it (microsecond precision). */
const ns = (ms: number): bigint => BigInt(Math.round((performance.timeOrigin + ms) * 1000)) * 1000n;

function encode(protocol: OtlpProtocol, list: Written[], maxBatch: number): { bodies: Buffer[]; counts: number[] } {
  const e = spanEncoder(protocol, maxBatch, 'svc-ü');
  for (const s of list) {
    e.begin(s.traceId, s.spanId, s.parentId, null, s.name, s.kind, s.startMs, s.endMs);
    for (const [k, v] of s.attrs) {
      if (typeof v === 'number') e.int(k, v);
      else if (Array.isArray(v)) e.strs(k, v);
      else e.str(k, v);
    }
    if (s.error) e.error();
    e.end();
  }
  const bodies: Buffer[] = [];
  const counts: number[] = [];
  for (let b = e.take(); b !== null; b = e.take()) {
    bodies.push(e.body(b.parts));
    counts.push(b.count);
  }
  return { bodies, counts };
}

function expected(s: Written): ReceivedSpan {
  return {
    service: 'svc-ü',
    name: s.name,
    kind: s.kind,
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentId,
    startNs: ns(s.startMs),
    endNs: ns(s.endMs),
    attributes: Object.fromEntries(s.attrs),
    status: s.error ? 2 : 0,
  };
}

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  test(`${protocol}: 400 spans with non-ASCII and 2 KB strings come back as written, in batches of at most 64`, () => {
    const list = spans(400);
    const { bodies, counts } = encode(protocol, list, 64);
    assert.deepEqual(counts, [64, 64, 64, 64, 64, 64, 16]);
    const got = bodies.flatMap((b) => (protocol === 'http/json' ? jsonSpans(b) : protoSpans(b)));
    assert.equal(got.length, 400);
    for (const [i, s] of list.entries()) assert.deepEqual(got[i], expected(s), `span ${i}`);
  });
}

test('protobuf is under half the bytes of JSON for the same spans', () => {
  const list = spans(60).map((s) => ({ ...s, attrs: s.attrs.filter(([k]) => k !== 'url.path') }));
  const size = (p: OtlpProtocol): number => encode(p, list, 1000).bodies.reduce((n, b) => n + b.length, 0);
  const proto = size('http/protobuf');
  const json = size('http/json');
  assert.ok(proto * 2 < json, `${proto} vs ${json}`);
});
