/**
 * OpenTelemetry tracing (issue 24, part 4; docs/tracing.md), against real peers: an OTLP/HTTP
 * receiver (node:http on loopback, decoding the JSON the SDK's exporter sends), and an
 * instrumented upstream (node:http with the OpenTelemetry SDK, reading `traceparent` with the W3C
 * propagator and exporting its own span to the same receiver). A request through the gateway
 * forms one trace: the gateway's SERVER span, its stage spans beneath it, its CLIENT span beneath
 * it, and the upstream's span beneath that.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, trace } from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startGateway, waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { jwt, nowS } from '../auth/support.js';
import { jsonSpans, protoSpans, type ReceivedSpan } from '../helpers/otlp.js';

/** OTLP JSON span kinds */
const KIND_INTERNAL = 1;
const KIND_SERVER = 2;
const KIND_CLIENT = 3;

/** A real OTLP/HTTP receiver: decodes each export request (protobuf or JSON) into spans. */
async function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; bodies: string[]; types: string[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const types: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const type = String(req.headers['content-type']);
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !(type.startsWith('application/json') || type === 'application/x-protobuf')) {
        res.writeHead(400).end();
        return;
      }
      types.push(type);
      bodies.push(raw.toString('latin1'));
      if (type === 'application/x-protobuf') {
        spans.push(...protoSpans(raw));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        return;
      }
      spans.push(...jsonSpans(raw));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    spans,
    bodies,
    types,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** An upstream instrumented with the OpenTelemetry SDK: its span continues the incoming `traceparent`. */
async function startInstrumentedUpstream(receiverUrl: string): Promise<{ up: TestUpstream; provider: BasicTracerProvider }> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'upstream' }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: receiverUrl }))],
  });
  const tracer = provider.getTracer('test-upstream');
  const w3c = new W3CTraceContextPropagator();
  const up = await startUpstream((req, res) => {
    const parent = w3c.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const span = tracer.startSpan(`upstream ${req.method}`, { kind: SpanKind.SERVER }, parent);
    const text = JSON.stringify({ ok: true });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    span.end();
  });
  return { up, provider };
}

/** A GET from a chosen loopback address (127.0.0.2 plays a trusted proxy). */
function get(url: string, headers: Record<string, string> = {}, localAddress = '127.0.0.1'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ISS = 'https://issuer.test';
const SECRET = randomBytes(48).toString('base64url');
const token = (): string => jwt({ alg: 'HS256', typ: 'JWT' }, { iss: ISS, sub: 'svc', iat: nowS(), exp: nowS() + 300 }, Buffer.from(SECRET));

function config(tracing: string): string {
  return `
version: 1
listeners: [{ port: 0 }]
trusted_proxies: [127.0.0.2/32]
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  jwt:
    providers:
      main: { issuer: ${ISS}, algorithms: [HS256], secret: "{{SECRET}}" }
waf:
  mode: enforce
${tracing}
routes:
  - id: api
    match: { prefix: /api }
    upstream: up
    auth: { any_of: [{ jwt: {} }] }
  - id: open
    match: { prefix: /open }
    upstream: up
    auth: none
`;
}

describe('the receiver reads protobuf as the OpenTelemetry SDK writes it', () => {
  test('a span serialized by @opentelemetry/otlp-transformer decodes to its ids, name, kind, times, attributes and status', async () => {
    const captured: ReadableSpan[] = [];
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'sdk-probe' }),
      spanProcessors: [
        new SimpleSpanProcessor({
          export: (spans, done) => {
            captured.push(...spans);
            done({ code: ExportResultCode.SUCCESS });
          },
          shutdown: async () => undefined,
        }),
      ],
    });
    const parent = provider.getTracer('t').startSpan('parent');
    const span = provider
      .getTracer('t')
      .startSpan('probé', { kind: SpanKind.CLIENT, attributes: { s: 'välue', n: 4242, a: ['x', 'ÿ'] } }, trace.setSpan(ROOT_CONTEXT, parent));
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    await provider.shutdown();
    const bytes = ProtobufTraceSerializer.serializeRequest(captured);
    assert.ok(bytes !== undefined);
    const [got] = protoSpans(bytes);
    const sdk = captured[0] as ReadableSpan;
    assert.ok(got);
    assert.equal(got.service, 'sdk-probe');
    assert.equal(got.traceId, span.spanContext().traceId);
    assert.equal(got.spanId, span.spanContext().spanId);
    assert.equal(got.parentSpanId, parent.spanContext().spanId);
    assert.equal(got.name, 'probé');
    assert.equal(got.kind, KIND_CLIENT);
    assert.equal(got.startNs, BigInt(sdk.startTime[0]) * 1_000_000_000n + BigInt(sdk.startTime[1]));
    assert.equal(got.endNs, BigInt(sdk.endTime[0]) * 1_000_000_000n + BigInt(sdk.endTime[1]));
    assert.deepEqual(got.attributes, { s: 'välue', n: 4242, a: ['x', 'ÿ'] });
    assert.equal(got.status, SpanStatusCode.ERROR);
  });
});

const INCOMING_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const INCOMING_PARENT = '00f067aa0ba902b7';

for (const protocol of ['http/protobuf', 'http/json'] as const)
  describe(`tracing with sampling at 100%, exported as ${protocol}`, () => {
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let upstream: Awaited<ReturnType<typeof startInstrumentedUpstream>>;
    let gw: TestGateway;

    before(async () => {
      receiver = await startReceiver();
      upstream = await startInstrumentedUpstream(receiver.url);
      gw = await startGateway(
        config(`tracing:
  enabled: true
  endpoint: ${receiver.url}
  protocol: ${protocol}
  sample_ratio: 1
  flush_interval_ms: 20
  service_name: edge
  headers: { x-collector-key: "{{KEY}}" }`),
        { vars: { UP: upstream.up.url, SECRET, KEY: 'collector-secret-value-1234' } },
      );
    });
    after(async () => {
      await gw?.close();
      await upstream?.provider.shutdown();
      await upstream?.up.close();
      await receiver?.close();
    });

    const spansOf = (traceId: string): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === traceId);

    test('a request through the gateway to an instrumented upstream forms one trace: stage spans and the CLIENT span under the SERVER span, the upstream span under the CLIENT span', async () => {
      const bearer = token();
      const r = await get(`${gw.url}/api/items?password=query-secret-123`, { authorization: `Bearer ${bearer}`, cookie: 'session=cookie-secret-456' });
      assert.equal(r.status, 200);
      const seen = upstream.up.seen.at(-1);
      assert.ok(seen);
      const tp = String(seen.headers.traceparent);
      assert.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      const traceId = tp.slice(3, 35);
      const upstreamSpan = await waitFor('the upstream span', () => spansOf(traceId).find((s) => s.service === 'upstream'));
      const server = await waitFor('the gateway SERVER span', () => spansOf(traceId).find((s) => s.service === 'edge' && s.kind === KIND_SERVER));
      const client = spansOf(traceId).find((s) => s.service === 'edge' && s.kind === KIND_CLIENT);
      assert.ok(client, 'a CLIENT span for the upstream exchange');
      // the chain: upstream span -> gateway CLIENT span -> gateway SERVER span (a new trace: no parent)
      assert.equal(upstreamSpan.parentSpanId, client.spanId);
      assert.equal(tp.slice(36, 52), client.spanId);
      assert.equal(client.parentSpanId, server.spanId);
      assert.equal(server.parentSpanId, '');
      assert.equal(server.name, 'GET api');
      assert.equal(server.attributes['http.request.method'], 'GET');
      assert.equal(server.attributes['http.response.status_code'], 200);
      assert.equal(server.attributes['url.path'], '/api/items');
      assert.equal(server.attributes['portcullis.route.id'], 'api');
      assert.equal(server.attributes['portcullis.decision'], 'allowed');
      assert.equal(client.attributes['server.address'], '127.0.0.1');
      assert.equal(client.attributes['server.port'], upstream.up.port);
      assert.equal(client.attributes['http.response.status_code'], 200);
      // a child span per stage that ran, each under the SERVER span, with its decision
      const stages = spansOf(traceId).filter((s) => s.service === 'edge' && s.kind === KIND_INTERNAL);
      const names = stages.map((s) => s.name);
      assert.ok(names.includes('intake'), names.join());
      assert.ok(names.includes('auth'), names.join());
      assert.ok(names.includes('waf'), names.join());
      // the gateway's exports used the configured encoding (the upstream's SDK sends JSON)
      assert.ok(receiver.types.includes(protocol === 'http/json' ? 'application/json' : 'application/x-protobuf'), receiver.types.join());
      // times: Unix nanoseconds of now, the stages and the CLIENT span within the SERVER span
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      assert.ok(server.startNs > nowNs - 60_000_000_000n && server.endNs <= nowNs + 1_000_000_000n, `${server.startNs} vs ${nowNs}`);
      assert.ok(server.startNs <= server.endNs);
      for (const s of [...stages, client])
        assert.ok(
          s.startNs >= server.startNs && s.endNs <= server.endNs && s.startNs <= s.endNs,
          `${s.name} ${s.startNs}-${s.endNs} outside ${server.startNs}-${server.endNs}`,
        );
      for (const s of stages) {
        assert.equal(s.parentSpanId, server.spanId);
        assert.equal(s.attributes['portcullis.decision'], 'continue');
        assert.equal(s.attributes['portcullis.stage.id'], s.name);
      }
      // nothing secret in what was exported: not the token, the cookie, the query secret, nor the collector's header
      const exported = receiver.bodies.join('\n');
      for (const secret of [bearer, 'cookie-secret-456', 'query-secret-123', 'collector-secret-value-1234']) assert.ok(!exported.includes(secret), secret);
      // the access-log line carries the trace id and the gateway's span id
      const lines = await waitForLogLines(gw, (l) => l.trace_id === traceId);
      const line = lines.find((l) => l.trace_id === traceId);
      assert.ok(line, 'an access-log line with the trace id');
      assert.equal(line.span_id, server.spanId);
    });

    test('a 401 has an auth stage span that carries the refusal and its code, and no CLIENT span', async () => {
      const before = upstream.up.count();
      const r = await get(`${gw.url}/api/items`);
      assert.equal(r.status, 401);
      assert.equal(upstream.up.count(), before);
      const line = (await waitForLogLines(gw, (l) => l.status === 401 && typeof l.trace_id === 'string')).find((l) => l.status === 401);
      assert.ok(line);
      const traceId = String(line.trace_id);
      const server = await waitFor('the SERVER span', () => spansOf(traceId).find((s) => s.kind === KIND_SERVER));
      const auth = await waitFor('the auth span', () => spansOf(traceId).find((s) => s.name === 'auth'));
      assert.equal(auth.parentSpanId, server.spanId);
      assert.equal(auth.attributes['portcullis.decision'], 'deny');
      assert.match(String(auth.attributes['portcullis.error.code']), /^PC_ERR_AUTH_/);
      assert.equal(server.attributes['http.response.status_code'], 401);
      assert.equal(server.attributes['portcullis.stage'], 'auth');
      assert.equal(server.attributes['portcullis.error.code'], auth.attributes['portcullis.error.code']);
      assert.equal(
        spansOf(traceId).find((s) => s.kind === KIND_CLIENT),
        undefined,
      );
      // stages after the refusal did not run, so they have no span
      assert.equal(
        spansOf(traceId).find((s) => s.name === 'waf'),
        undefined,
      );
    });

    test('a WAF block has a waf stage span with the code and the rule ids that matched', async () => {
      const r = await get(`${gw.url}/open/search?q=${encodeURIComponent('<script>alert(1)</script>')}`);
      assert.equal(r.status, 403);
      const line = (await waitForLogLines(gw, (l) => l.status === 403 && typeof l.trace_id === 'string')).find((l) => l.status === 403);
      assert.ok(line);
      const waf = await waitFor('the waf span', () => spansOf(String(line.trace_id)).find((s) => s.name === 'waf'));
      assert.equal(waf.attributes['portcullis.decision'], 'deny');
      assert.equal(waf.attributes['portcullis.error.code'], (line.decision as { code: string }).code);
      const rules = waf.attributes['portcullis.waf.rule_ids'] as string[];
      assert.ok(Array.isArray(rules) && rules.length > 0, JSON.stringify(waf.attributes));
      assert.deepEqual(rules, (line.waf as { rules: string[] }).rules.slice(0, 32));
    });

    test('a traceparent from a peer that is not a trusted proxy is not continued, nor forwarded as sent', async () => {
      const incoming = `00-${INCOMING_TRACE}-${INCOMING_PARENT}-01`;
      const r = await get(`${gw.url}/open/untrusted`, { traceparent: incoming, tracestate: 'evil=1' }, '127.0.0.1');
      assert.equal(r.status, 200);
      const seen = upstream.up.seen.at(-1);
      assert.ok(seen);
      assert.notEqual(seen.headers.traceparent, incoming);
      assert.ok(!String(seen.headers.traceparent).includes(INCOMING_TRACE));
      assert.equal(seen.headers.tracestate, undefined);
      const line = (await waitForLogLines(gw, (l) => l.path === '/open/untrusted')).find((l) => l.path === '/open/untrusted');
      assert.ok(line);
      assert.notEqual(line.trace_id, INCOMING_TRACE);
      assert.equal(String(seen.headers.traceparent).slice(3, 35), line.trace_id);
    });

    test('a traceparent from a trusted proxy is continued: the same trace id, its span as the parent, its tracestate forwarded', async () => {
      const r = await get(
        `${gw.url}/open/trusted`,
        { traceparent: `00-${INCOMING_TRACE}-${INCOMING_PARENT}-01`, tracestate: 'vendor=abc,other=x1' },
        '127.0.0.2',
      );
      assert.equal(r.status, 200);
      const seen = upstream.up.seen.at(-1);
      assert.ok(seen);
      assert.match(String(seen.headers.traceparent), new RegExp(`^00-${INCOMING_TRACE}-[0-9a-f]{16}-01$`));
      assert.equal(seen.headers.tracestate, 'vendor=abc,other=x1');
      const server = await waitFor('the SERVER span', () => spansOf(INCOMING_TRACE).find((s) => s.service === 'edge' && s.kind === KIND_SERVER));
      assert.equal(server.parentSpanId, INCOMING_PARENT);
      const upSpan = await waitFor('the upstream span', () => spansOf(INCOMING_TRACE).find((s) => s.service === 'upstream'));
      const client = spansOf(INCOMING_TRACE).find((s) => s.kind === KIND_CLIENT && s.service === 'edge');
      assert.ok(client);
      assert.equal(upSpan.parentSpanId, client.spanId);
    });

    test('a malformed traceparent from a trusted proxy starts a new trace', async () => {
      // version ff is forbidden; an all-zero trace id is invalid; upper-case hex is not W3C
      for (const bad of [
        `ff-${INCOMING_TRACE}-${INCOMING_PARENT}-01`,
        `00-${'0'.repeat(32)}-${INCOMING_PARENT}-01`,
        `00-${INCOMING_TRACE.toUpperCase()}-${INCOMING_PARENT}-01`,
      ]) {
        const r = await get(`${gw.url}/open/bad`, { traceparent: bad }, '127.0.0.2');
        assert.equal(r.status, 200);
        const seen = upstream.up.seen.at(-1);
        assert.ok(seen);
        assert.match(String(seen.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
        assert.ok(!String(seen.headers.traceparent).toLowerCase().includes(INCOMING_TRACE), bad);
      }
    });

    test('a trusted parent that is not sampled is honoured: no gateway span is exported, the ids still go upstream and into the log', async () => {
      const traceId = randomBytes(16).toString('hex');
      const r = await get(`${gw.url}/open/unsampled`, { traceparent: `00-${traceId}-${INCOMING_PARENT}-00` }, '127.0.0.2');
      assert.equal(r.status, 200);
      const seen = upstream.up.seen.at(-1);
      assert.ok(seen);
      assert.match(String(seen.headers.traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
      const line = (await waitForLogLines(gw, (l) => l.path === '/open/unsampled')).find((l) => l.path === '/open/unsampled');
      assert.ok(line);
      assert.equal(line.trace_id, traceId);
      assert.match(String(line.span_id), /^[0-9a-f]{16}$/);
      // a later sampled request's spans arrive; none of the unsampled trace's did
      const r2 = await get(`${gw.url}/open/after`);
      assert.equal(r2.status, 200);
      const after = String(upstream.up.seen.at(-1)?.headers.traceparent).slice(3, 35);
      await waitFor('the later span', () => spansOf(after).find((s) => s.kind === KIND_SERVER));
      assert.deepEqual(
        spansOf(traceId).filter((s) => s.service === 'edge'),
        [],
      );
    });
  });

describe('tracing that records nothing', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let up: TestUpstream;

  before(async () => {
    receiver = await startReceiver();
    up = await startUpstream();
  });
  after(async () => {
    await up?.close();
    await receiver?.close();
  });

  test('with tracing off nothing is exported, the log has no trace ids, and the gateway takes no part in the trace headers', async () => {
    const gw = await startGateway(config(''), { vars: { UP: up.url, SECRET } });
    try {
      const incoming = `00-${INCOMING_TRACE}-${INCOMING_PARENT}-01`;
      const r = await get(`${gw.url}/open/off`, { traceparent: incoming });
      assert.equal(r.status, 200);
      assert.equal(up.seen.at(-1)?.headers.traceparent, incoming);
      const line = (await waitForLogLines(gw, 1))[0];
      assert.ok(line);
      assert.equal(line.trace_id, undefined);
    } finally {
      await gw.close();
    }
    assert.equal(receiver.bodies.length, 0);
  });

  test('with sample_ratio 0 nothing is exported, yet the upstream gets a traceparent and the log the ids', async () => {
    const gw = await startGateway(config(`tracing: { enabled: true, endpoint: "${receiver.url}", sample_ratio: 0, flush_interval_ms: 20 }`), {
      vars: { UP: up.url, SECRET },
    });
    try {
      for (let i = 0; i < 20; i++) assert.equal((await get(`${gw.url}/open/r${i}`)).status, 200);
      const tp = String(up.seen.at(-1)?.headers.traceparent);
      assert.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
      const lines = await waitForLogLines(gw, 20);
      assert.equal(lines.at(-1)?.trace_id, tp.slice(3, 35));
    } finally {
      await gw.close(); // flushes the export queue: whatever was recorded has been sent by now
    }
    assert.equal(receiver.bodies.length, 0);
  });

  test('a collector that is down never affects requests: the spans are dropped and counted', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const gw = await startGateway(
      config(`tracing: { enabled: true, endpoint: "http://127.0.0.1:${port}/v1/traces", sample_ratio: 1, flush_interval_ms: 20, export_timeout_ms: 500 }`),
      { vars: { UP: up.url, SECRET } },
    );
    const metrics = gw.gateway.services.metrics;
    try {
      for (let i = 0; i < 10; i++) assert.equal((await get(`${gw.url}/open/d${i}`)).status, 200);
    } finally {
      await gw.close(); // the last export attempts end within export_timeout_ms
    }
    const text = await metrics.render();
    const m = /portcullis_tracing_spans_dropped_total\{reason="export_failed"\} (\d+)/.exec(text);
    assert.ok(
      m,
      text
        .split('\n')
        .filter((l) => l.includes('tracing'))
        .join('\n'),
    );
    assert.ok(Number(m[1]) >= 10, m[0]);
  });
});
