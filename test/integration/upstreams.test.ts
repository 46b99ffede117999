import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/net.js';
import { request } from 'undici';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** A gateway with one route to one upstream and no access log. */
function gatewayFor(up: TestUpstream) {
  return startGateway(
    `
version: 1
listeners: [{ port: 0 }]
access_log: { enabled: false }
upstreams: { u: { targets: [{ url: "{{U}}" }] } }
routes: [{ id: r, match: { prefix: / }, upstream: u }]
`,
    { modules: [], vars: { U: up.url } },
  );
}

async function call(url: string, method = 'GET', body?: string) {
  const r = await request(url, { method: method as 'GET', ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}) });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text };
}

test('weighted round robin over 3 targets follows the weights within 10% over 3,000 requests', async () => {
  const ups = await Promise.all([startUpstream(), startUpstream(), startUpstream()]);
  const gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
access_log: { enabled: false }
upstreams:
  u:
    targets:
      - { url: "{{A}}", weight: 1 }
      - { url: "{{B}}", weight: 2 }
      - { url: "{{C}}", weight: 3 }
routes: [{ id: r, match: { prefix: / }, upstream: u }]
`,
    { modules: [], vars: { A: ups[0]!.url, B: ups[1]!.url, C: ups[2]!.url } },
  );
  try {
    const N = 3000;
    for (let i = 0; i < N; i += 50) {
      await Promise.all(Array.from({ length: 50 }, () => call(`${gw.url}/x`)));
    }
    const counts = ups.map((u) => u.count());
    const expected = [N / 6, (2 * N) / 6, (3 * N) / 6];
    counts.forEach((c, i) => {
      const e = expected[i]!;
      assert.ok(Math.abs(c - e) <= e * 0.1, `target ${i}: ${c} requests, expected ${e} ± 10%`);
    });
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      N,
    );
  } finally {
    await gw.close();
    await Promise.all(ups.map((u) => u.close()));
  }
});

test('a target failing its health check is ejected and returns when healthy again', async () => {
  let healthy = true;
  const sick = await startUpstream((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(healthy ? 200 : 503);
      res.end();
      return;
    }
    res.writeHead(200, { 'x-from': 'sick' });
    res.end('sick');
  });
  const good = await startUpstream((_req, res) => {
    res.writeHead(200, { 'x-from': 'good' });
    res.end('good');
  });
  const gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams:
  u:
    targets: [{ url: "{{A}}" }, { url: "{{B}}" }]
    health_check: { path: /healthz, interval_ms: 50, healthy_threshold: 2, unhealthy_threshold: 2, timeout_ms: 500 }
routes: [{ id: r, match: { prefix: / }, upstream: u }]
`,
    { modules: [], vars: { A: sick.url, B: good.url } },
  );
  const froms = async (n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await request(`${gw.url}/x`)).headers['x-from'] as string);
    return out;
  };
  const waitFor = async (cond: () => Promise<boolean>) => {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (await cond()) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };
  try {
    assert.ok((await froms(10)).includes('sick'), 'both targets serve while healthy');
    healthy = false;
    assert.ok(await waitFor(async () => (await froms(10)).every((f) => f === 'good')), 'the failing target is taken out of rotation');
    const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
    assert.match(metrics, new RegExp(`portcullis_upstream_target_healthy\\{upstream="u",target="${sick.url}"\\} 0`));
    assert.match(metrics, /portcullis_upstream_ejections_total\{[^}]*reason="health_check"[^}]*\} 1/);
    healthy = true;
    assert.ok(await waitFor(async () => (await froms(10)).includes('sick')), 'the target returns once healthy');
  } finally {
    await gw.close();
    await sick.close();
    await good.close();
  }
});

test('an upstream slower than the response timeout gives 504 problem+json', async () => {
  const slow = await startUpstream((_req, res) => {
    setTimeout(() => {
      res.writeHead(200);
      res.end('late');
    }, 1500);
  });
  const gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams:
  u: { targets: [{ url: "{{A}}" }], response_timeout_ms: 200, retries: { attempts: 0 } }
routes: [{ id: r, match: { prefix: / }, upstream: u }]
`,
    { modules: [], vars: { A: slow.url } },
  );
  try {
    const r = await call(`${gw.url}/slow`);
    assert.equal(r.status, 504);
    assert.equal(r.headers['content-type'], 'application/problem+json');
    assert.equal(JSON.parse(r.text).code, 'PC_ERR_UPSTREAM_TIMEOUT');
  } finally {
    await gw.close();
    await slow.close();
  }
});

test('an upstream that is down gives 502 problem+json without internal detail', async () => {
  const port = await freePort();
  const gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams:
  u: { targets: [{ url: "http://127.0.0.1:{{P}}" }] }
routes: [{ id: r, match: { prefix: / }, upstream: u }]
`,
    { modules: [], vars: { P: port } },
  );
  try {
    const r = await call(`${gw.url}/x`);
    assert.equal(r.status, 502);
    assert.equal(r.headers['content-type'], 'application/problem+json');
    const body = JSON.parse(r.text) as Record<string, unknown>;
    assert.equal(body.code, 'PC_ERR_UPSTREAM_UNAVAILABLE');
    assert.doesNotMatch(r.text, /ECONNREFUSED|127\.0\.0\.1|stack/);
  } finally {
    await gw.close();
  }
});

test('an idempotent GET is retried on another target after a refused connection; a POST is not', async () => {
  const deadPort = await freePort();
  const live: TestUpstream = await startUpstream();
  const gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams:
  u:
    targets: [{ url: "http://127.0.0.1:{{DEAD}}" }, { url: "{{LIVE}}" }]
    passive: { consecutive_failures: 0 }
    retries: { attempts: 2 }
routes: [{ id: r, match: { prefix: / }, upstream: u }]
`,
    { modules: [], vars: { DEAD: deadPort, LIVE: live.url } },
  );
  try {
    // round robin alternates: every other request first goes to the dead target
    const gets = await Promise.all(Array.from({ length: 10 }, () => call(`${gw.url}/g`)));
    assert.deepEqual(
      gets.map((g) => g.status),
      Array(10).fill(200),
    );
    const posts: number[] = [];
    for (let i = 0; i < 10; i++) posts.push((await call(`${gw.url}/p`, 'POST', '{}')).status);
    assert.equal(posts.filter((s) => s === 502).length, 5, 'POSTs that hit the dead target are not retried');
    assert.equal(posts.filter((s) => s === 200).length, 5);
    const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
    assert.match(metrics, /portcullis_upstream_retries_total\{upstream="u"\} 5/);
  } finally {
    await gw.close();
    await live.close();
  }
});

test('passive ejection takes a target returning 5xx out of rotation', async () => {
  const bad = await startUpstream((_req, res) => {
    res.writeHead(500, { 'x-from': 'bad' });
    res.end();
  });
  const good = await startUpstream((_req, res) => {
    res.writeHead(200, { 'x-from': 'good' });
    res.end();
  });
  const gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams:
  u:
    targets: [{ url: "{{A}}" }, { url: "{{B}}" }]
    passive: { consecutive_failures: 3, ejection_ms: 60000 }
routes: [{ id: r, match: { prefix: / }, upstream: u }]
`,
    { modules: [], vars: { A: bad.url, B: good.url } },
  );
  try {
    for (let i = 0; i < 6; i++) await call(`${gw.url}/x`);
    assert.equal(bad.count(), 3, 'the bad target got three requests, then was ejected');
    const after = await Promise.all(Array.from({ length: 10 }, () => call(`${gw.url}/x`)));
    assert.ok(after.every((r) => r.status === 200));
    assert.equal(bad.count(), 3);
  } finally {
    await gw.close();
    await bad.close();
    await good.close();
  }
});

test('least connections sends new requests to the target with fewer requests in flight', async () => {
  const release: (() => void)[] = [];
  const slow = await startUpstream((_req, res) => {
    release.push(() => {
      res.writeHead(200, { 'x-from': 'slow' });
      res.end();
    });
  });
  const fast = await startUpstream((_req, res) => {
    res.writeHead(200, { 'x-from': 'fast' });
    res.end();
  });
  const gw = await startGateway(
    `
version: 1
listeners: [{ port: 0 }]
upstreams:
  u: { targets: [{ url: "{{A}}" }, { url: "{{B}}" }], balance: least_connections }
routes: [{ id: r, match: { prefix: / }, upstream: u }]
`,
    { modules: [], vars: { A: slow.url, B: fast.url } },
  );
  try {
    const pending = [call(`${gw.url}/1`), call(`${gw.url}/2`)];
    while (slow.count() + release.length < 1) await new Promise((r) => setTimeout(r, 10));
    const later: string[] = [];
    for (let i = 0; i < 5; i++) later.push((await request(`${gw.url}/n`)).headers['x-from'] as string);
    assert.deepEqual(later, Array(5).fill('fast'));
    const during = await (await request(`${gw.adminUrl}/metrics`)).body.text();
    assert.match(during, /portcullis_requests_in_flight [12]\n/, 'the held requests are in flight');
    for (const f of release) f();
    await Promise.all(pending);
  } finally {
    await gw.close();
    await slow.close();
    await fast.close();
  }
});

test('a client that leaves mid-response stops the upstream request; a slow reader gets every byte of a large response', async () => {
  let upstreamClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  const big = Buffer.alloc(8 * 1024 * 1024, 'abcdefghijklmnopqrstuvwxyz');
  const up = await startUpstream((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': big.length });
      res.end(big);
      return;
    }
    // an endless slow stream: a chunk every 20 ms until the gateway closes the connection
    res.writeHead(200, { 'content-type': 'text/plain' });
    const timer = setInterval(() => res.write('tick\n'), 20);
    res.on('close', () => {
      clearInterval(timer);
      upstreamClosed();
    });
  });
  const gw = await gatewayFor(up);
  try {
    const { Socket } = await import('node:net');
    const port = Number(new URL(gw.url).port);
    const sock = new Socket();
    await new Promise<void>((r) => sock.connect(port, '127.0.0.1', r));
    sock.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
    const first = await new Promise<string>((r) => sock.once('data', (d: Buffer) => r(d.toString())));
    assert.match(first, /^HTTP\/1\.1 200/);
    sock.destroy();
    const t = setTimeout(() => assert.fail('the upstream request was not stopped after the client left'), 3000);
    await closed;
    clearTimeout(t);

    // backpressure: read the large response slowly (pauses the gateway's upstream read)
    const r = await request(`${gw.url}/big`);
    let got = 0;
    const hash = (await import('node:crypto')).createHash('sha256');
    for await (const c of r.body) {
      got += (c as Buffer).length;
      hash.update(c as Buffer);
      if (got < 2 * 1024 * 1024) await new Promise((res) => setTimeout(res, 1));
    }
    assert.equal(r.statusCode, 200);
    assert.equal(got, big.length);
    assert.equal(hash.digest('hex'), (await import('node:crypto')).createHash('sha256').update(big).digest('hex'));
  } finally {
    await gw.close();
    await up.close();
  }
});

test('bodies with a Content-Length arrive whole whether the upstream sends them in one chunk or several, and HEAD gets none', async () => {
  const big = 'b'.repeat(200_000);
  const up = await startUpstream((req, res) => {
    if (req.url === '/one') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
      res.end(req.method === 'HEAD' ? undefined : 'hello');
      return;
    }
    if (req.url === '/split') {
      // three writes with pauses: the gateway sees the body in several chunks
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '9' });
      res.write('abc');
      setTimeout(() => res.write('def'), 20);
      setTimeout(() => res.end('ghi'), 40);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(big.length) });
    res.end(big);
  });
  const gw = await gatewayFor(up);
  try {
    // several rounds over the same keep-alive connections: a response ended early or late would break the next one
    for (let i = 0; i < 5; i++) {
      const [one, split, large, head] = await Promise.all([
        call(`${gw.url}/one`),
        call(`${gw.url}/split`),
        call(`${gw.url}/big`),
        call(`${gw.url}/one`, 'HEAD'),
      ]);
      assert.equal(one.status, 200);
      assert.equal(one.text, 'hello');
      assert.equal(split.text, 'abcdefghi');
      assert.equal(split.headers['content-length'], '9');
      assert.equal(large.text.length, big.length);
      assert.equal(head.status, 200);
      assert.equal(head.text, '');
      assert.equal(head.headers['content-length'], '5');
    }
  } finally {
    await gw.close();
    await up.close();
  }
});
