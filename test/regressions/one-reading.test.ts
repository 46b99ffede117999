/**
 * Issue 18: one reading of every request. Each test sends what an attacker sent in the review, over
 * real sockets, to a real gateway in front of a real upstream, and checks that the gateway's
 * reading is the one the upstream gets, or that the request is refused with a stable code.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { rawExchange } from '../helpers/net.js';
import { startUpstream, type SeenRequest, type TestUpstream } from '../helpers/upstream.js';
import { generateApiKey, hashApiKey } from '../../src/stages/auth/verifiers/api-key.js';

const ENV = 'PC_TEST_ONE_READING_SECRET';
const SECRET = 'one-reading-pepper-0123456789abcdef0123456789';
const ADMIN_KEY = generateApiKey('kadmin');

const OPENAPI = `
openapi: 3.0.3
info: { title: shop, version: '1' }
paths:
  /items:
    get:
      operationId: listItems
      parameters:
        - { name: limit, in: query, schema: { type: integer, maximum: 100 } }
        - { name: sort, in: query, schema: { type: string, enum: [name, price] } }
      responses: { '200': { description: ok } }
    post:
      operationId: createItem
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [name]
              properties: { name: { type: string, maxLength: 20 } }
          application/x-www-form-urlencoded:
            schema:
              type: object
              additionalProperties: false
              properties: { name: { type: string } }
      responses: { '200': { description: ok } }
  /uploads:
    post:
      operationId: upload
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              properties: { age: { type: integer }, note: { type: string } }
      responses: { '200': { description: ok } }
`;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: Record<string, unknown> | null;
}

async function send(url: string, opts: { method?: string; headers?: Record<string, string> | string[]; body?: string | Buffer } = {}): Promise<Reply> {
  const r = await request(url, { method: (opts.method ?? 'GET') as 'GET', headers: opts.headers ?? {}, body: opts.body ?? null });
  const body = await r.body.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: r.statusCode, headers: r.headers as Record<string, string | string[] | undefined>, body, json };
}

const raw = (port: number, data: string | Buffer, waitMs = 1500): Promise<string> => rawExchange(port, data, waitMs);

const statusOf = (rawReply: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(rawReply)?.[1] ?? 0);

describe('one reading of every request (issue 18)', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  let last: SeenRequest | undefined;
  const port = (): number => gw.port;

  before(async () => {
    process.env[ENV] = SECRET;
    up = await startUpstream((req, res, body) => {
      if (req.url?.startsWith('/boom')) {
        res.writeHead(req.url.includes('503') ? 503 : 500, { 'content-type': 'text/html', 'retry-after': '7', server: 'Apache/2.4.1 (Unix)' });
        res.end('<pre>Traceback: psycopg2.OperationalError at db-internal-7.corp:5432 SELECT * FROM users</pre>');
        return;
      }
      const text = JSON.stringify({ url: req.url, bodyBytes: body.length });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        server: 'Werkzeug/2.0.1 Python/3.8',
        'x-powered-by': 'Express',
      });
      res.end(text);
    });
    const dir = mkdtempSync(join(tmpdir(), 'pc-one-reading-'));
    writeFileSync(join(dir, 'shop.yaml'), OPENAPI);
    gw = await startGateway(
      `
version: 1
listeners: [{ port: 0 }]
upstreams:
  up: { targets: [{ url: "{{UP}}" }], passive: { consecutive_failures: 2, ejection_ms: 60000 } }
  strict: { targets: [{ url: "{{UP}}" }], path_matching: { case: sensitive, trailing_slash: significant } }
auth:
  api_keys: { secret: "\${env:${ENV}}" }
consumers:
  - id: ops
    credentials: { api_keys: [{ id: kadmin, hash: ${hashApiKey(ADMIN_KEY, SECRET)} }] }
apis:
  - id: shop
    spec: shop.yaml
    upstream: up
    base_path: /api
    defaults: { auth: none }
abuse: { enabled: false }
alerts: { enabled: false }
routes:
  - { id: admin, match: { path: /api/admin }, upstream: up, auth: { any_of: [{ api_key: {} }] } }
  - { id: tenant-items, match: { path: "/tenants/{t}/items/{id}" }, upstream: up, auth: { any_of: [{ api_key: {} }] } }
  - { id: public, match: { prefix: /api }, upstream: up, auth: none }
  - { id: tenants-public, match: { prefix: /tenants }, upstream: up, auth: none }
  - { id: strict-admin, match: { path: /s/admin }, upstream: strict, auth: { any_of: [{ api_key: {} }] } }
  - { id: strict-public, match: { prefix: /s }, upstream: strict, auth: none }
  - { id: waf, match: { prefix: /waf }, upstream: up, auth: none }
  - { id: waf-off, match: { prefix: /nowaf }, upstream: up, auth: none, waf: off }
  - { id: gz, match: { prefix: /gz }, upstream: up, auth: none, body: { content_encoding: decode, max_decompression_ratio: 50 } }
  - { id: boom, match: { prefix: /boom }, upstream: up, auth: none, waf: off }
`,
      { vars: { UP: up.url }, dir },
    );
  });

  after(async () => {
    await gw.close();
    await up.close();
    delete process.env[ENV];
  });

  const seenAfter = (n: number): SeenRequest | undefined => (up.count() > n ? up.seen.at(-1) : undefined);

  describe('1. Content-Type parameters', () => {
    it('refuses whitespace before = and a second, differing charset, before the upstream', async () => {
      const n = up.count();
      for (const ct of [
        'application/json; charset     =utf-7',
        'application/json; charset=utf-8; charset="utf\\-7"',
        'application/json; charset="utf-8"; CHARSET=utf-8',
      ]) {
        const r = await send(`${gw.url}/waf/x`, { method: 'POST', headers: { 'content-type': ct }, body: '{"name":"a"}' });
        assert.equal(r.status, 400, ct);
        assert.equal(r.json?.['code'], 'PC_ERR_MEDIA_TYPE_INVALID', ct);
      }
      assert.equal(up.count(), n, 'nothing reached the upstream');
    });

    it('refuses JSON in another charset with 415, and forwards the one canonical Content-Type it read', async () => {
      const bad = await send(`${gw.url}/api/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-7' },
        body: '{"name":"+ACI-"}',
      });
      assert.equal(bad.status, 415);
      assert.equal(bad.json?.['code'], 'PC_ERR_UNSUPPORTED_MEDIA_TYPE');
      const n = up.count();
      const ok = await send(`${gw.url}/api/items`, {
        method: 'POST',
        headers: { 'content-type': 'Application/JSON;charset="UTF-8"' },
        body: '{"name":"lamp"}',
      });
      assert.equal(ok.status, 200, ok.body);
      last = seenAfter(n);
      assert.equal(last?.headers['content-type'], 'application/json; charset=utf-8');
    });
  });

  describe('2. a stricter route is never reached through a broader one', () => {
    it('slash, dot, case and ;-parameter variants of /api/admin get the admin route (401), never the public prefix', async () => {
      const n = up.count();
      for (const path of ['/api/admin/', '/api/admin/.', '/api/Admin', '/API/ADMIN/']) {
        const r = await raw(port(), `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        assert.equal(statusOf(r), 401, `${path}: ${r.slice(0, 200)}`);
      }
      const semi = await raw(port(), 'GET /api/admin;x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.equal(statusOf(semi), 400, 'a ;-parameter is refused by default');
      assert.match(semi, /PC_ERR_PATH_AMBIGUOUS/);
      assert.equal(up.count(), n, 'no variant reached the upstream');
      const ok = await send(`${gw.url}/api/Admin/`, { headers: { 'x-api-key': ADMIN_KEY } });
      assert.equal(ok.status, 200, "with the admin route's credentials the variant is served");
    });

    it('a tenant-bound template with a trailing slash or another case is not reached through /tenants', async () => {
      for (const path of ['/tenants/acme/items/1/', '/TENANTS/acme/Items/1']) {
        const r = await send(`${gw.url}${path}`);
        assert.equal(r.status, 401, path);
      }
    });

    it('an upstream declared case-sensitive with significant slashes is routed exactly', async () => {
      const r = await send(`${gw.url}/s/Admin/`);
      assert.equal(r.status, 200, 'a strict upstream does not serve /s/admin for /s/Admin/, so the prefix route applies');
      assert.equal((await send(`${gw.url}/s/admin`)).status, 401);
    });
  });

  describe('3. ..; segments', () => {
    it('..; climbs as Tomcat reads it: refused on a route without the WAF', async () => {
      const n = up.count();
      const r = await raw(port(), 'GET /nowaf/..;/api/admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.ok(statusOf(r) === 400 || statusOf(r) === 403, r.slice(0, 200));
      assert.equal(up.count(), n);
    });
  });

  describe('4. one multipart parser', () => {
    it('reads the boundary parameter, not xboundary, so the part with the payload is inspected under its own name', async () => {
      // validation reads `age` (an integer, so its pointer skips injection rules) and `note`; a WAF
      // reading boundary AAA saw one part named `age` holding everything, and skipped it
      const body = `--BBB\r\nContent-Disposition: form-data; name="age"\r\n\r\n42\r\n--BBB\r\nContent-Disposition: form-data; name="note"\r\n\r\n<script>alert(document.cookie)</script>\r\n--BBB--\r\n`;
      const r = await send(`${gw.url}/api/uploads`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; xboundary=AAA; boundary=BBB' }, body });
      assert.equal(r.status, 403, r.body);
      assert.equal(r.json?.['code'], 'PC_ERR_WAF_BLOCKED');
    });
  });

  describe('5. Content-Encoding', () => {
    it('refuses a compressed body with 415 by default, before the upstream', async () => {
      const n = up.count();
      const r = await send(`${gw.url}/waf/x`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync('{"q":"\' or 1=1--"}'),
      });
      assert.equal(r.status, 415);
      assert.equal(r.json?.['code'], 'PC_ERR_CONTENT_ENCODING');
      assert.equal(up.count(), n);
    });

    it('with content_encoding: decode, inspects the decoded body and forwards it decoded', async () => {
      const attack = await send(`${gw.url}/gz/x`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync('{"q":"1 union select password from users--"}'),
      });
      assert.equal(attack.status, 403, attack.body);
      const n = up.count();
      const plain = '{"name":"lamp","tags":["a","b"]}';
      const ok = await send(`${gw.url}/gz/x`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(plain),
      });
      assert.equal(ok.status, 200, ok.body);
      last = seenAfter(n);
      assert.equal(last?.body.toString(), plain, 'the upstream receives the decoded bytes');
      assert.equal(last?.headers['content-encoding'], undefined);
      assert.equal(last?.headers['content-length'], String(Buffer.byteLength(plain)));
    });

    it('refuses a body that inflates beyond the decompression ratio with 413', async () => {
      const bomb = gzipSync(Buffer.from(`{"a":"${'A'.repeat(200000)}"}`));
      const r = await send(`${gw.url}/gz/x`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
      assert.equal(r.status, 413);
      assert.equal(r.json?.['code'], 'PC_ERR_BODY_TOO_LARGE');
    });
  });

  describe('6. WAF parser gaps', () => {
    it('refuses duplicate JSON keys on a route that only has the WAF', async () => {
      const r = await send(`${gw.url}/waf/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"q":"\' or 1=1--","q":"fine"}' });
      assert.equal(r.status, 400, r.body);
      assert.equal(r.json?.['code'], 'PC_ERR_BODY_MALFORMED');
    });

    it('refuses multipart with LF-only line ends', async () => {
      const body = '--BBB\nContent-Disposition: form-data; name="q"\n\n<script>alert(1)</script>\n--BBB--\n';
      const r = await send(`${gw.url}/waf/x`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=BBB' }, body });
      assert.equal(r.status, 400, r.body);
    });

    it('inspects filename*, parts of binary types, and headers that were skipped', async () => {
      const star = `--BBB\r\nContent-Disposition: form-data; name="f"; filename*=UTF-8''%3Cscript%3Ealert%281%29%3C%2Fscript%3E.txt\r\n\r\nhello\r\n--BBB--\r\n`;
      assert.equal(
        (await send(`${gw.url}/waf/x`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=BBB' }, body: star })).status,
        403,
        'filename*',
      );
      const bin = `--BBB\r\nContent-Disposition: form-data; name="f"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n<?php system($_GET['c']); ?>\r\n--BBB--\r\n`;
      assert.equal(
        (await send(`${gw.url}/waf/x`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=BBB' }, body: bin })).status,
        403,
        'binary part',
      );
      const headers: Record<string, string>[] = [
        { 'accept-language': "en' union select password from users--" },
        { accept: 'text/html, <script>alert(1)</script>' },
        { 'cache-control': "no-cache' or 1=1--" },
        { 'if-none-match': '"x" <script>alert(1)</script>' },
        { 'x-api-key': "1' or '1'='1" },
        { authorization: `Basic ${Buffer.from("admin' or 1=1--:x").toString('base64')}` },
        { traceparent: '00-${jndi:ldap://127.0.0.1/a}-01' },
      ];
      for (const h of headers) {
        const r = await send(`${gw.url}/waf/x`, { headers: h });
        assert.equal(r.status, 403, JSON.stringify(h));
      }
    });
  });

  describe('an empty chunked body', () => {
    it('is no body: a required one is missing (400 PC_ERR_BODY_REQUIRED), not malformed JSON', async () => {
      const r = await raw(
        port(),
        'POST /api/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n',
      );
      assert.equal(statusOf(r), 400, r.slice(0, 300));
      assert.match(r, /PC_ERR_BODY_REQUIRED/);
    });
  });

  describe('11. Expect: 100-continue', () => {
    it('is served (100, then the upstream answer), and never counts against the upstream', async () => {
      for (let i = 0; i < 4; i++) {
        const r = await raw(
          port(),
          'POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n{}',
          1500,
        );
        assert.match(r, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /, r.slice(0, 200));
      }
      assert.equal((await send(`${gw.url}/api/after`)).status, 200, 'the upstream was not ejected');
    });

    it('a request refused before its body is read gets its final status without 100 Continue', async () => {
      const r = await raw(
        port(),
        'POST /api/admin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n',
        800,
      );
      assert.equal(statusOf(r), 401, r.slice(0, 200));
      assert.doesNotMatch(r, /100 Continue/);
    });
  });

  describe('12. override headers', () => {
    it('headers that frameworks read as path, method or user are not forwarded', async () => {
      const n = up.count();
      const names = [
        'x-original-url',
        'x-rewrite-url',
        'x-http-method-override',
        'x-http-method',
        'x-method-override',
        'x-real-ip',
        'x-forwarded-prefix',
        'x-forwarded-port',
        'remote-user',
        'x-remote-user',
        'x-forwarded-user',
      ];
      const h: Record<string, string> = {};
      for (const k of names) h[k] = k === 'x-real-ip' ? '10.9.9.9' : k.includes('method') ? 'DELETE' : k.includes('user') ? 'admin' : '/api/admin';
      const r = await send(`${gw.url}/api/x`, { headers: h });
      assert.equal(r.status, 200);
      last = seenAfter(n);
      for (const k of names) assert.equal(last?.headers[k], undefined, k);
    });

    it('a _method override is refused on validated routes, in the query and in a form body', async () => {
      const q = await send(`${gw.url}/api/items?_method=DELETE`);
      assert.equal(q.status, 400);
      assert.equal(q.json?.['code'], 'PC_ERR_METHOD_OVERRIDE');
      const f = await send(`${gw.url}/api/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=x&_method=DELETE',
      });
      assert.equal(f.status, 400);
      assert.equal(f.json?.['code'], 'PC_ERR_METHOD_OVERRIDE');
    });
  });

  describe('13. bracket query names', () => {
    it('limit[]= and limit[0]= are refused on a validated route, where limit= over the maximum is', async () => {
      assert.equal((await send(`${gw.url}/api/items?limit=1000`)).status, 400);
      for (const q of ['limit[]=1000', 'limit[0]=1000', 'sort[]=evil', 'sort[x]=evil']) {
        const r = await send(`${gw.url}/api/items?${q}`);
        assert.equal(r.status, 400, q);
        assert.equal(r.json?.['code'], 'PC_ERR_VALIDATION', q);
      }
      assert.equal((await send(`${gw.url}/api/items?limit=10`)).status, 200);
    });

    it('names that parsers read differently are refused everywhere: [a], a[b, toString', async () => {
      for (const q of ['%5Ba%5D=1', 'a%5Bb=1', 'toString=1', 'a[b][__proto__]=1', '=x']) {
        const r = await send(`${gw.url}/nowaf/x?${q}`);
        assert.equal(r.status, 400, q);
      }
      assert.equal((await send(`${gw.url}/nowaf/x?filter[status]=open&page[size]=10`)).status, 200, 'JSON:API style names pass');
    });
  });

  describe('18. upstream identity and error pages', () => {
    it('Server and X-Powered-By are removed', async () => {
      const r = await send(`${gw.url}/api/x`);
      assert.equal(r.status, 200);
      assert.equal(r.headers['server'], undefined);
      assert.equal(r.headers['x-powered-by'], undefined);
    });

    it('an upstream 5xx body is replaced by problem+json with the same status; Retry-After stays', async () => {
      const r = await send(`${gw.url}/boom/503`);
      assert.equal(r.status, 503);
      assert.equal(r.headers['content-type'], 'application/problem+json');
      assert.equal(r.json?.['code'], 'PC_ERR_UPSTREAM_ERROR');
      assert.equal(r.headers['retry-after'], '7');
      assert.doesNotMatch(r.body, /Traceback|db-internal|SELECT/);
      const logged = gw.eventLines().find((l) => l['event'] === 'upstream_error_body');
      assert.match(String(logged?.['body']), /Traceback/, 'the original body is logged');
    });
  });

  describe('20. request lines and Host', () => {
    it('an HTTP/0.9 request line is refused with 400', async () => {
      const n = up.count();
      const r = await raw(port(), 'GET /api/x\r\n\r\n');
      assert.ok(!/^HTTP\/1\.1 200/.test(r), r.slice(0, 100));
      assert.equal(up.count(), n, 'never proxied');
    });

    it('two Host headers are refused with 400', async () => {
      const n = up.count();
      const r = await raw(port(), 'GET /api/x HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n');
      assert.equal(statusOf(r), 400, r.slice(0, 100));
      assert.equal(up.count(), n);
    });
  });

  describe('3. with limits.path_parameters: allow', () => {
    let gw2: TestGateway;
    before(async () => {
      gw2 = await startGateway(
        `
version: 1
listeners: [{ port: 0 }]
limits: { path_parameters: allow }
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
auth:
  api_keys: { secret: "\${env:${ENV}}" }
abuse: { enabled: false }
alerts: { enabled: false }
routes:
  - { id: admin, match: { path: /api/admin }, upstream: up, auth: { any_of: [{ api_key: {} }] } }
  - { id: public, match: { prefix: /api }, upstream: up, auth: none, waf: off }
`,
        { vars: { UP: up.url } },
      );
    });
    after(() => gw2.close());

    it('..; and .; are dot segments, and /api/admin;x routes as /api/admin', async () => {
      const n = up.count();
      const climb = await rawExchange(gw2.port, 'GET /api/x/..;/admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.equal(statusOf(climb), 403, climb.slice(0, 200));
      assert.match(climb, /PC_ERR_PATH_TRAVERSAL/);
      for (const path of ['/api/admin;x', '/api/admin;jsessionid=1/', '/api/.;/admin']) {
        const r = await rawExchange(gw2.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        assert.equal(statusOf(r), 401, `${path}: ${r.slice(0, 200)}`);
      }
      assert.equal(up.count(), n);
    });
  });
});
