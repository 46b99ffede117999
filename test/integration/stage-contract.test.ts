/**
 * The stage contract of the kernel (docs/stage-contract.md), with test stages over real sockets:
 * a stage may respond (from memory or a stream) instead of the upstream, a respond hook may
 * replace the upstream response, monitor mode records instead of responding, one observe hook
 * sees every exchange, and two stages of one phase with one order are refused at start. On the
 * streamed path: a head hook answers in place of the upstream (its body dropped), a tap sees the
 * whole body or learns it was cut, and a stage answers for an upstream that failed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startGateway, waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { respond, type BodyTap } from '../../src/core/decision.js';
import type { AccessRecord } from '../../src/core/record.js';
import type { RequestContext, StageModule } from '../../src/core/stage.js';

const observed: { record: AccessRecord; routed: boolean }[] = [];

/** Answers /local itself, /stream with a stream, and replaces the upstream's /replace response. */
const answering: StageModule = {
  id: 'test.answer',
  phase: 'validate',
  order: 500,
  create: () => ({
    observe(record: AccessRecord, ctx: RequestContext | null) {
      observed.push({ record, routed: ctx?.route != null });
    },
    forRoute: (route) => {
      const mode = route.id === 'monitored' ? 'monitor' : 'enforce';
      return {
        id: 'test.answer',
        phase: 'validate',
        mode,
        needsResponseBody: route.id === 'replace',
        run(ctx: RequestContext) {
          if (ctx.path === '/local' || ctx.path === '/monitored') {
            ctx.responseHeaders['x-added-by-stage'] = 'yes';
            return respond(201, { headers: { 'content-type': 'text/plain', 'x-local': '1' }, body: 'made here' });
          }
          if (ctx.path === '/stream') return respond(200, { headers: { 'content-type': 'text/plain' }, body: Readable.from(['a', 'b', 'c']) });
          return undefined;
        },
        onResponseBody(_ctx, res, body) {
          if (res.status === 200 && body.toString().includes('url'))
            return respond(203, { headers: { 'content-type': 'application/json' }, body: '{"replaced":true}' });
          return body;
        },
      };
    },
  }),
};

describe('the stage contract', () => {
  let up: TestUpstream;
  let gw: TestGateway;

  before(async () => {
    up = await startUpstream();
    gw = await startGateway(
      `
version: 1
listeners: [{ port: 0 }]
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
routes:
  - { id: local, match: { path: /local }, upstream: up }
  - { id: stream, match: { path: /stream }, upstream: up }
  - { id: monitored, match: { path: /monitored }, upstream: up }
  - { id: replace, match: { path: /replace }, upstream: up }
`,
      { vars: { UP: up.url }, modules: [answering] },
    );
  });

  after(async () => {
    await gw.close();
    await up.close();
  });

  it('a stage responds from memory: its status, headers and body, the request id and stage headers added, no upstream request', async () => {
    const n = up.count();
    const r = await request(`${gw.url}/local`);
    assert.equal(r.statusCode, 201);
    assert.equal(await r.body.text(), 'made here');
    assert.equal(r.headers['x-local'], '1');
    assert.equal(r.headers['x-added-by-stage'], 'yes');
    assert.equal(r.headers['content-length'], '9');
    assert.equal(typeof r.headers['x-request-id'], 'string');
    assert.equal(up.count(), n);
    const line = (await waitForLogLines(gw, (l) => l['path'] === '/local')).find((l) => l['path'] === '/local');
    assert.deepEqual(line?.['decision'], { stage: 'test.answer', responded: true, reason: null }, 'the access log says a stage responded');
  });

  it('a stage responds with a stream; HEAD gets the head only', async () => {
    const r = await request(`${gw.url}/stream`);
    assert.equal(r.statusCode, 200);
    assert.equal(await r.body.text(), 'abc');
    const h = await request(`${gw.url}/local`, { method: 'HEAD' });
    assert.equal(h.statusCode, 201);
    assert.equal(await h.body.text(), '');
  });

  it('in monitor mode the response is recorded, not sent: the upstream answers', async () => {
    const n = up.count();
    const r = await request(`${gw.url}/monitored`);
    assert.equal(r.statusCode, 200);
    await r.body.text();
    assert.equal(up.count(), n + 1);
  });

  it('a respond hook replaces the upstream response with its own', async () => {
    const r = await request(`${gw.url}/replace`);
    assert.equal(r.statusCode, 203);
    assert.deepEqual(await r.body.json(), { replaced: true });
  });

  it('one observe hook sees every finished exchange with its record, routed or not', async () => {
    observed.length = 0;
    await (await request(`${gw.url}/local`)).body.text();
    await (await request(`${gw.url}/nowhere`)).body.text();
    await new Promise((r) => setTimeout(r, 50));
    const paths = observed.map((o) => `${o.record.path} ${o.record.status} ${o.routed}`);
    assert.deepEqual(paths.sort(), ['/local 201 true', '/nowhere 404 false']);
  });

  it('two stages of one phase with one order are refused at start, naming both', async () => {
    const twin: StageModule = { ...answering, id: 'test.twin' };
    await assert.rejects(
      startGateway('version: 1\nlisteners: [{ port: 0 }]\nupstreams:\n  up: { targets: [{ url: "http://127.0.0.1:9" }] }\n', { modules: [answering, twin] }),
      /'test\.answer' and 'test\.twin' both run in phase validate at order 500/,
    );
  });
});

/** What the tapping stage saw, per request path. */
const tapped = new Map<string, { bytes: number; ended: boolean; aborted: boolean }>();

const streamedHooks: StageModule = {
  id: 'test.streamed',
  phase: 'validate',
  order: 501,
  create: () => ({
    forRoute: () => ({
      id: 'test.streamed',
      phase: 'validate',
      mode: 'enforce',
      onResponse(ctx: RequestContext, res): ReturnType<NonNullable<import('../../src/core/stage.js').RouteStage['onResponse']>> {
        if (res.status === 304) return respond(200, { headers: { 'content-type': 'text/plain', 'x-from': 'stage' }, body: 'stored copy' });
        if (ctx.path.startsWith('/tap')) {
          const seen = { bytes: 0, ended: false, aborted: false };
          tapped.set(ctx.path, seen);
          const tap: BodyTap = {
            kind: 'tap',
            chunk: (b) => {
              seen.bytes += b.length;
              return true;
            },
            end: () => {
              seen.ended = true;
            },
            abort: () => {
              seen.aborted = true;
            },
          };
          return tap;
        }
        return undefined;
      },
      onUpstreamFailure(ctx: RequestContext, reason: string) {
        if (ctx.path === '/no-fallback') return undefined;
        return respond(200, { headers: { 'content-type': 'text/plain', 'x-reason': reason }, body: 'fallback' });
      },
    }),
  }),
};

describe('the stage contract on the streamed path', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  let deadGw: TestGateway;

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/not-modified') {
        res.writeHead(304, { etag: '"v1"' });
        res.end();
      } else if (req.url === '/tap') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        let i = 0;
        const more = (): void => {
          if (i++ === 20) return void res.end();
          res.write(Buffer.alloc(16384, i));
          setImmediate(more);
        };
        more();
      } else if (req.url === '/tap-cut') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100000' });
        res.write(Buffer.alloc(1000));
        setTimeout(() => res.destroy(), 50);
      } else if (req.url === '/fail') {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('down');
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('upstream');
      }
    });
    const routes = `
routes:
  - { id: all, match: { prefix: / }, upstream: up }
`;
    gw = await startGateway(`version: 1\nlisteners: [{ port: 0 }]\nupstreams:\n  up: { targets: [{ url: "{{UP}}" }] }\n${routes}`, {
      vars: { UP: up.url },
      modules: [streamedHooks],
    });
    deadGw = await startGateway(
      `version: 1\nlisteners: [{ port: 0 }]\nupstreams:\n  up: { targets: [{ url: "http://127.0.0.1:9" }], retries: { attempts: 0 } }\n${routes}`,
      { modules: [streamedHooks] },
    );
  });

  after(async () => {
    await gw?.close();
    await deadGw?.close();
    await up?.close();
  });

  it("a head hook answers in place of the upstream's 304, with the request id", async () => {
    const r = await request(`${gw.url}/not-modified`);
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['x-from'], 'stage');
    assert.equal(r.headers['etag'], undefined, "none of the upstream's headers");
    assert.equal(typeof r.headers['x-request-id'], 'string');
    assert.equal(await r.body.text(), 'stored copy');
    // the connection is still good for the next request
    const again = await request(`${gw.url}/plain`);
    assert.equal(await again.body.text(), 'upstream');
  });

  it('a tap sees every byte the client gets, then the end', async () => {
    const r = await request(`${gw.url}/tap`);
    const body = Buffer.from(await r.body.arrayBuffer());
    assert.equal(body.length, 20 * 16384);
    assert.deepEqual(tapped.get('/tap'), { bytes: 20 * 16384, ended: true, aborted: false });
  });

  it('a tap learns when the body was cut short', async () => {
    const r = await request(`${gw.url}/tap-cut`);
    await assert.rejects(r.body.arrayBuffer());
    for (let i = 0; i < 50 && !tapped.get('/tap-cut')?.aborted; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(tapped.get('/tap-cut')?.ended, false);
    assert.equal(tapped.get('/tap-cut')?.aborted, true);
  });

  it('a stage answers for an upstream that cannot be reached, or whose 5xx is replaced', async () => {
    const r = await request(`${deadGw.url}/x`);
    assert.equal(r.statusCode, 200);
    assert.equal(await r.body.text(), 'fallback');
    assert.equal(r.headers['x-reason'], 'ECONNREFUSED');
    const none = await request(`${deadGw.url}/no-fallback`);
    assert.equal(none.statusCode, 502);
    await none.body.text();
    const five = await request(`${gw.url}/fail`);
    assert.equal(five.statusCode, 200);
    assert.equal(five.headers['x-reason'], 'upstream status 503');
    assert.equal(await five.body.text(), 'fallback');
  });
});
