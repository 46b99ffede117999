/**
 * The stage contract of the kernel (docs/stage-contract.md), with test stages over real sockets:
 * a stage may respond (from memory or a stream) instead of the upstream, a respond hook may
 * replace the upstream response, monitor mode records instead of responding, one observe hook
 * sees every exchange, and two stages of one phase with one order are refused at start.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startGateway, waitForLogLines, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { respond } from '../../src/core/decision.js';
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
