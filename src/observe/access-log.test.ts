import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { accessLogLine } from './access-log.js';
import { NO_REDACTION, QueryRedaction } from './query-redaction.js';
import { newRequestId } from '../core/request-id.js';
import { resolveClientIp, stripMapped, TrustedProxies } from '../proxy/client-ip.js';
import type { RequestContext } from '../core/stage.js';

function ctxWith(v: { path: string; host: string; id: string; reason: string | null; query: string }): RequestContext {
  return {
    id: v.id,
    clientIp: '127.0.0.1',
    method: 'GET',
    host: v.host,
    path: v.path,
    query: v.query,
    route: { id: 'r1' },
    bytesIn: 0,
    bytesOut: 10,
    upstreamTarget: null,
    upstreamLatencyMs: null,
    principal: null,
    outcome:
      v.reason === null
        ? { decision: 'allowed', stage: null, code: null, reason: null }
        : { decision: 'denied', stage: 'waf', code: 'PC_ERR_WAF_BLOCKED', reason: v.reason },
    listener: { name: 'l' },
    monitored: [],
    annotationsIfAny: null,
  } as unknown as RequestContext;
}

test('every access-log line is one valid JSON object whose strings round-trip, whatever the request carried', () => {
  // any UTF-16 code units: quotes, backslashes, control characters, lone surrogates, non-ASCII
  const anyText = fc.string({ unit: 'binary', maxLength: 60 });
  fc.assert(
    // ids are written as is: only the forms the gateway accepts or makes (see the next test)
    fc.property(anyText, anyText, fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/), fc.option(anyText, { nil: null }), (path, host, id, reason) => {
      const line = accessLogLine(ctxWith({ path, host, id, reason, query: '' }), 200, 1.5, NO_REDACTION, 1_700_000_000_123);
      assert.ok(line.endsWith('}\n'));
      assert.equal(line.indexOf('\n'), line.length - 1, 'one line');
      assert.match(line, /^[\x00-\x7f]*$/, 'ASCII only (the writer copies lines as Latin-1)');
      const o = JSON.parse(line) as Record<string, unknown>;
      assert.equal(o.path, path);
      assert.equal(o.host, host);
      assert.equal(o.request_id, id);
      assert.equal(o.time, '2023-11-14T22:13:20.123Z');
      if (reason !== null) assert.equal((o.decision as { reason: string }).reason, reason);
    }),
    { numRuns: 2000 },
  );
});

test('the time field follows the clock even when lines share a millisecond', () => {
  const c = ctxWith({ path: '/', host: 'h', id: 'i', reason: null, query: '' });
  const t = (ms: number) => (JSON.parse(accessLogLine(c, 200, 1, NO_REDACTION, ms)) as { time: string }).time;
  assert.equal(t(0), '1970-01-01T00:00:00.000Z');
  assert.equal(t(0), '1970-01-01T00:00:00.000Z');
  assert.equal(t(1), '1970-01-01T00:00:00.001Z');
  assert.equal(t(86_400_000), '1970-01-02T00:00:00.000Z');
  for (const ms of [999, 1000, 1001, 1_764_750_000_042, 1_764_750_000_999, 1_764_750_001_000, 1_764_750_001_100])
    assert.equal(t(ms), new Date(ms).toISOString());
});

test('secret query parameters are redacted in the logged path', () => {
  const line = accessLogLine(
    ctxWith({ path: '/a', host: 'h', id: 'i', reason: null, query: 'api_key=s3cr3t&x=1' }),
    200,
    1,
    new QueryRedaction(['api_key']),
    0,
  );
  assert.equal((JSON.parse(line) as { path: string }).path, '/a?api_key=[REDACTED]&x=1');
  assert.ok(!line.includes('s3cr3t'));
});

test('durations are logged as JSON numbers rounded to the microsecond', () => {
  const c = ctxWith({ path: '/', host: 'h', id: 'i', reason: null, query: '' });
  for (const [v, want] of [
    [0, 0],
    [1, 1],
    [1.5, 1.5],
    [0.001, 0.001],
    [0.0004, 0],
    [12.3456, 12.346],
    [1000.01, 1000.01],
    [0.099, 0.099],
    [7.1, 7.1],
  ] as const) {
    const line = accessLogLine(c, 200, v, NO_REDACTION, 0);
    assert.equal((JSON.parse(line) as { latency_ms: number }).latency_ms, want, `${v}`);
  }
});

test('annotations are logged as JSON; a frozen one is serialised once and reused', () => {
  const frozen = Object.freeze({ result: 'allowed', methods: ['jwt'], consumer: 'c"1', tenant: null });
  const line = (annotations: Record<string, unknown>) =>
    JSON.parse(
      accessLogLine(
        { ...ctxWith({ path: '/', host: 'h', id: 'i', reason: null, query: '' }), annotationsIfAny: annotations } as unknown as RequestContext,
        200,
        1,
        NO_REDACTION,
        0,
      ),
    ) as Record<string, unknown>;
  assert.deepEqual(line({ auth: frozen }).auth, frozen);
  assert.deepEqual(line({ auth: frozen, waf: { score: 3, rules: ['x'] } }), { ...line({ auth: frozen }), waf: { score: 3, rules: ['x'] } });
  const mutable: { n: number } = { n: 1 };
  assert.deepEqual(line({ k: mutable }).k, { n: 1 });
  mutable.n = 2; // not frozen: serialised again each time
  assert.deepEqual(line({ k: mutable }).k, { n: 2 });
  assert.equal(line({ 'we"ird': 'v' })['we"ird'], 'v');
  // non-ASCII text in annotations and their keys is written as \u escapes: the same JSON values
  const text = { consumer: 'Zoë 😀 \u202e', lone: '\ud800' };
  const raw = accessLogLine(
    {
      ...ctxWith({ path: '/', host: 'h', id: 'i', reason: null, query: '' }),
      annotationsIfAny: { ключ: text, f: Object.freeze({ ...text }) },
    } as unknown as RequestContext,
    200,
    1,
    NO_REDACTION,
    0,
  );
  assert.match(raw, /^[\x00-\x7f]*$/);
  const o = JSON.parse(raw) as Record<string, unknown>;
  assert.deepEqual(o['ключ'], text);
  assert.deepEqual(o.f, text);
});

test('method, route, upstream and listener are right in every line, beyond the cache of their combinations', () => {
  // methods come from clients: more combinations than the cache keeps (4,096) must still be exact
  const anyText = fc.string({ unit: 'binary', maxLength: 20 });
  const seen: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const c = ctxWith({ path: '/', host: 'h', id: 'i', reason: null, query: '' }) as unknown as Record<string, unknown>;
    c.method = `M${i}`;
    c.route = i % 3 === 0 ? null : { id: `r${i % 7}` };
    c.upstreamTarget = i % 5 === 0 ? null : `http://127.0.0.1:${9000 + (i % 4)}`;
    c.listener = { name: `l${i % 2}` };
    const o = JSON.parse(accessLogLine(c as unknown as RequestContext, 200, 1, NO_REDACTION, 0)) as Record<string, unknown>;
    assert.equal(o.method, `M${i}`);
    assert.equal(o.route_id, i % 3 === 0 ? null : `r${i % 7}`);
    assert.equal(o.upstream, i % 5 === 0 ? null : `http://127.0.0.1:${9000 + (i % 4)}`);
    assert.equal(o.listener, `l${i % 2}`);
    seen.push(o.method as string);
  }
  assert.equal(new Set(seen).size, 5000);
  fc.assert(
    fc.property(anyText, anyText, (method, route) => {
      const c = ctxWith({ path: '/', host: 'h', id: 'i', reason: null, query: '' }) as unknown as Record<string, unknown>;
      c.method = method;
      c.route = { id: route };
      const o = JSON.parse(accessLogLine(c as unknown as RequestContext, 200, 1, NO_REDACTION, 0)) as Record<string, unknown>;
      assert.equal(o.method, method.length > 32 ? `${method.slice(0, 32)}...` : method);
      assert.equal(o.route_id, route);
    }),
    { numRuns: 500 },
  );
});

test('request ids and client IPs, which lines carry unescaped, never need escaping in JSON', () => {
  const safe = (s: string) => JSON.stringify(s) === `"${s}"`;
  for (let i = 0; i < 1000; i++) assert.ok(safe(newRequestId()));
  const trusted = new TrustedProxies(['127.0.0.0/8', '::1/128']);
  const forwarded = new TrustedProxies(['127.0.0.0/8', '::1/128'], 'forwarded');
  // whatever a client puts in forwarding headers, behind a trusted proxy
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), (xff, fwd) => {
      for (const ip of [
        resolveClientIp('127.0.0.1', xff, trusted),
        resolveClientIp('::1', fwd, forwarded),
        resolveClientIp('127.0.0.1', [xff, '10.0.0.1'], trusted),
        resolveClientIp('127.0.0.1', [fwd, 'for=10.0.0.1'], forwarded),
      ])
        assert.ok(safe(ip), JSON.stringify(ip));
    }),
    { numRuns: 3000 },
  );
  for (const peer of ['::ffff:10.1.2.3', 'fe80::1%eth0', '']) assert.ok(safe(stripMapped(peer)));
});
