/** The WAF stage through a real gateway, a real upstream and real HTTP requests. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type * as http from 'node:http';
import { startGateway, waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { sendRequest } from '../helpers/protocol.js';

const YAML = `version: 1
listeners:
  - port: 0
upstreams:
  app:
    targets:
      - url: {{UP}}
waf:
  mode: enforce
routes:
  - id: tickets
    match:
      path: /tickets
      methods: [POST]
    upstream: app
    auth: none
    waf:
      exclusions:
        - tags: [attack-sqli]
          targets: ["json:/description"]
  - id: watch
    match:
      prefix: /watch
    upstream: app
    auth: none
    waf:
      mode: monitor
  - id: raw
    match:
      prefix: /raw
    upstream: app
    auth: none
    waf: off
  - id: all
    match:
      prefix: /
    upstream: app
    auth: none
`;

let gw: TestGateway;
let up: TestUpstream;

before(async () => {
  up = await startUpstream();
  gw = await startGateway(YAML, { vars: { UP: up.url } });
});
after(async () => {
  await gw?.close();
  await up?.close();
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw path, so that `../` reaches the gateway as written; in the suite's HTTP version (test/helpers/protocol.ts). */
async function send(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  const r = await sendRequest(gw.url, {
    method,
    path,
    headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
    ...(body !== undefined ? { body } : {}),
  });
  return { status: r.status, headers: r.headers, body: r.text() };
}

test('a path with ../ is refused with 403', async () => {
  const r = await send('GET', '/static/../../etc/passwd');
  assert.equal(r.status, 403);
});

test('a traversal in a query parameter is refused with 403 problem+json carrying the request id and no rule detail', async () => {
  const before = up.count();
  const r = await send('GET', `/files?name=${encodeURIComponent('../../../etc/passwd')}`);
  assert.equal(r.status, 403);
  assert.match(String(r.headers['content-type']), /application\/problem\+json/);
  const p = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(p['code'], 'PC_ERR_WAF_BLOCKED');
  assert.ok(typeof r.headers['x-request-id'] === 'string' && r.body.includes(r.headers['x-request-id']), 'the request id is the incident id');
  assert.ok(!/lfi|sqli|rule|passwd/i.test(r.body), 'no rule detail in the reply');
  assert.equal(up.count(), before, 'the upstream is not contacted');
});

test("a query with ' OR 1=1-- is refused with 403", async () => {
  const r = await send('GET', `/search?q=${encodeURIComponent("' OR 1=1--")}`);
  assert.equal(r.status, 403);
});

test("a JSON body with O'Brien, prose with SQL words and a code snippet passes to the upstream", async () => {
  const before = up.count();
  const body = JSON.stringify({
    name: "Siobhan O'Brien",
    note: 'Please select the delete option from the menu, or drop me a line.',
    snippet: 'for f in *.log; do grep -n "error" "$f"; done',
  });
  const r = await send('POST', '/people', body, { 'content-type': 'application/json' });
  assert.equal(r.status, 200, r.body);
  assert.equal(up.count(), before + 1);
});

test('the access log of a blocked request names rules, tags, targets and score, and never logs the Authorization header', async () => {
  const r = await send('GET', `/items?id=${encodeURIComponent('1 UNION SELECT password FROM users')}`, undefined, {
    authorization: 'Bearer secret-token-value-123',
  });
  assert.equal(r.status, 403);
  const id = r.headers['x-request-id'];
  const lines = await waitForLogLines(gw, (l) => JSON.stringify(l).includes(String(id)) && 'waf' in l);
  const line = lines.find((l) => JSON.stringify(l).includes(String(id)) && 'waf' in l);
  assert.ok(line, 'an access-log line with a waf annotation');
  const waf = line['waf'] as { score: number; rules: string[]; tags: string[]; targets: string[]; blocked: boolean };
  assert.equal(waf.blocked, true);
  assert.ok(waf.score >= 5);
  assert.ok(waf.rules.includes('sqli-100') || waf.rules.includes('sqli-150'), JSON.stringify(waf));
  assert.ok(waf.tags.includes('attack-sqli'));
  assert.ok(waf.targets.includes('query:id'), JSON.stringify(waf.targets));
  assert.ok(!JSON.stringify(line).includes('secret-token-value-123'));
});

test('monitor mode lets the attack through and logs what would have been blocked', async () => {
  const before = up.count();
  const r = await send('GET', `/watch/x?q=${encodeURIComponent('<script>alert(1)</script>')}`);
  assert.equal(r.status, 200);
  assert.equal(up.count(), before + 1);
  const id = r.headers['x-request-id'];
  const lines = await waitForLogLines(gw, (l) => JSON.stringify(l).includes(String(id)) && 'waf' in l);
  const line = lines.find((l) => JSON.stringify(l).includes(String(id)) && 'waf' in l);
  assert.ok(line);
  assert.equal((line['waf'] as { blocked: boolean }).blocked, true);
  assert.ok((line['waf'] as { tags: string[] }).tags.includes('attack-xss'));
});

test('a route with waf: off is not inspected', async () => {
  const r = await send('GET', `/raw/x?q=${encodeURIComponent("' or 1=1--")}`);
  assert.equal(r.status, 200);
});

test('an exclusion of SQL rules on one JSON field lets SQL through there but not in another field', async () => {
  const ok = await send('POST', '/tickets', JSON.stringify({ title: 'login broken', description: "I typed ' OR 1=1-- in the password box" }), {
    'content-type': 'application/json',
  });
  assert.equal(ok.status, 200, ok.body);
  const blocked = await send('POST', '/tickets', JSON.stringify({ title: "' OR 1=1--", description: 'x' }), { 'content-type': 'application/json' });
  assert.equal(blocked.status, 403);
});

test('an XXE document in an XML body is refused', async () => {
  const xml = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>';
  const r = await send('POST', '/upload', xml, { 'content-type': 'application/xml' });
  assert.equal(r.status, 403);
});
