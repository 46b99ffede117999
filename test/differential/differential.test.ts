/**
 * Differential test of the one-reading rule (issue 18): real upstream frameworks (Express 5 with
 * its default parsers, Express 5 with qs, Fastify 5, Koa 3) behind one real gateway, each
 * reporting what it read. A generator produces ambiguous requests (generate.ts); each is sent to
 * every framework through the gateway. Every request the gateway forwards must be read by the
 * framework as the gateway's stages read it (compare.ts): 0 differences. The gateway's reading is
 * recorded by a stage of this test, in the inspect phase after the WAF: what the stages checked.
 *
 * PC_DIFF_SEED reproduces a run; PC_DIFF_RUNS sets the number of generated requests (10,000).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { type Dispatcher, Pool } from 'undici';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { STAGES } from '../../src/stages/index.js';
import type { StageModule } from '../../src/core/stage.js';
import { startFrameworks, readingOf, ROUTES, type Framework } from './frameworks.js';
import { differences, type GatewayReading } from './compare.js';
import { requestArb, type GenRequest } from './generate.js';
import type { RequestContext } from '../../src/core/stage.js';

const RUNS = Number(process.env['PC_DIFF_RUNS'] ?? 10000);
const SEED = Number(process.env['PC_DIFF_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const CONCURRENCY = 16;
/** generated requests sent again over h2c (PC_DIFF_H2_RUNS) */
const H2_RUNS = Number(process.env['PC_DIFF_H2_RUNS'] ?? 2000);

/** The gateway's readings by request id, written by the recording stage. */
const readings = new Map<string, GatewayReading>();

/** A stage that records what the stages read (and, like any stage that reads bodies, refuses one it cannot). */
const recorder: StageModule = {
  id: 'test.reading',
  phase: 'inspect',
  order: 10_000, // after every registered inspect stage (the cache is 1000)
  create: () => ({
    forRoute: () => ({
      id: 'test.reading',
      phase: 'inspect',
      mode: 'enforce',
      needsBody: true,
      run(ctx: RequestContext) {
        if (ctx.bodyRefusal !== null) return ctx.bodyRefusal;
        const id = ctx.route?.id ?? '';
        readings.set(ctx.id, {
          method: ctx.method,
          path: ctx.path,
          route: id.slice(id.indexOf('.') + 1),
          params: ctx.params,
          queryPairs: ctx.queryPairs,
          body: ctx.bodyReading,
        });
        return undefined;
      },
    }),
  }),
};

function gatewayConfig(fws: readonly Framework[], lie: string | null, listener = '{ port: 0 }'): string {
  const ups = fws
    .map((f) => {
      // `lie`: declare this framework's path matching wrongly (the harness's own check)
      const pm =
        f.name === lie
          ? {
              case: f.pathMatching.case === 'sensitive' ? 'insensitive' : 'sensitive',
              trailing_slash: f.pathMatching.trailing_slash === 'ignored' ? 'significant' : 'ignored',
            }
          : f.pathMatching;
      return `  ${f.name}: { targets: [{ url: "${f.url}" }], path_matching: { case: ${pm.case}, trailing_slash: ${pm.trailing_slash} } }`;
    })
    .join('\n');
  const routes = fws
    .flatMap((f) => {
      const h = `hosts: [${f.name}.test]`;
      return [
        `  - { id: ${f.name}.items, match: { ${h}, path: /items }, upstream: ${f.name}, auth: none }`,
        `  - { id: ${f.name}.items-one, match: { ${h}, path: "/items/{id}" }, upstream: ${f.name}, auth: none }`,
        `  - { id: ${f.name}.admin, match: { ${h}, path: /admin }, upstream: ${f.name}, auth: none }`,
        `  - { id: ${f.name}.rest, match: { ${h}, prefix: / }, upstream: ${f.name}, auth: none }`,
      ];
    })
    .join('\n');
  return `
version: 1
listeners: [${listener}]
limits: { max_body_bytes: 65536, body: { content_encoding: decode } }
responses: { upstream_5xx: pass }
waf: { mode: monitor }
abuse: { enabled: false }
alerts: { enabled: false }
access_log: { enabled: false }
upstreams:
${ups}
routes:
${routes}
`;
}

interface Outcome {
  kind: 'refused' | 'read' | 'framework-refused';
  diffs: string[];
  /** the gateway's error code when it refused */
  code?: string;
}

async function sendOne(pool: Pool, fw: Framework, r: GenRequest): Promise<Outcome> {
  const headers: string[] = ['host', `${fw.name}.test`];
  for (const [k, v] of r.headers) headers.push(k, v);
  let body: Buffer | Readable | null = r.body;
  if (r.body !== null && r.chunked) body = Readable.from([r.body.subarray(0, 3), r.body.subarray(3)]);
  let res: Dispatcher.ResponseData;
  try {
    res = await pool.request({ method: r.method as 'GET', path: r.target, headers, body });
  } catch {
    return { kind: 'refused', diffs: [] }; // the gateway closed the connection (a refused request)
  }
  return outcome(fw, res.statusCode, res.headers, await res.body.text());
}

/**
 * The same request over HTTP/2 (h2c, prior knowledge): field names lower-case and repeated
 * fields as repeated fields, as an HTTP/2 client sends them; a chunked body becomes two DATA
 * frames. A request the HTTP/2 client or the gateway's HTTP/2 layer refuses (connection-specific
 * fields, a stream reset) counts as refused: nothing reached a framework.
 */
async function sendOneH2(session: http2.ClientHttp2Session, fw: Framework, r: GenRequest): Promise<Outcome> {
  const headers: http2.OutgoingHttpHeaders = { ':method': r.method, ':path': r.target, ':authority': `${fw.name}.test`, ':scheme': 'http' };
  for (const [k, v] of r.headers) {
    const n = k.toLowerCase();
    const cur = headers[n];
    headers[n] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [String(cur), v];
  }
  try {
    const res = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>((resolve, reject) => {
      const stream = session.request(headers, { endStream: r.body === null });
      stream.on('error', reject);
      stream.on('response', (h) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () =>
          resolve({ status: Number(h[':status']), headers: h as Record<string, string | string[] | undefined>, text: Buffer.concat(chunks).toString('utf8') }),
        );
      });
      stream.on('close', () => reject(new Error(`stream closed (${stream.rstCode})`)));
      if (r.body !== null) {
        if (r.chunked) {
          stream.write(r.body.subarray(0, 3));
          stream.end(r.body.subarray(3));
        } else stream.end(r.body);
      }
    });
    return outcome(fw, res.status, res.headers, res.text);
  } catch {
    return { kind: 'refused', diffs: [] };
  }
}

/** What a response says: refused by the gateway, refused by the framework, or read (with the differences from the gateway's reading). */
function outcome(fw: Framework, status: number, headers: Record<string, string | string[] | undefined>, text: string): Outcome {
  const id = headers['x-request-id'];
  const gw = typeof id === 'string' ? readings.get(id) : undefined;
  if (typeof id === 'string') readings.delete(id);
  const read = readingOf(headers['x-reading']);
  if (gw === undefined) {
    if (read !== null) return { kind: 'read', diffs: ['the framework read a request the gateway has no reading of'] };
    const code = /"code":"(PC_ERR_[A-Z_]+)"/.exec(text)?.[1] ?? `status ${status}`;
    return { kind: 'refused', diffs: [], code };
  }
  if (read === null) return { kind: 'framework-refused', diffs: [] };
  return { kind: 'read', diffs: differences(gw, read, fw.structure) };
}

interface RunResult {
  sent: number;
  refused: number;
  read: number;
  frameworkRefused: number;
  byFramework: Record<string, { read: number; refused: number; frameworkRefused: number }>;
  diffs: { framework: string; request: GenRequest; diffs: string[] }[];
  /** refusals by gateway code */
  codes: Record<string, number>;
}

type Send = (fw: Framework, r: GenRequest) => Promise<Outcome>;

async function run(gw: TestGateway, fws: readonly Framework[], samples: readonly GenRequest[]): Promise<RunResult> {
  const pool = new Pool(gw.url, { connections: CONCURRENCY, pipelining: 1 });
  try {
    return await runWith((fw, r) => sendOne(pool, fw, r), fws, samples);
  } finally {
    await pool.close();
  }
}

async function runWith(send: Send, fws: readonly Framework[], samples: readonly GenRequest[]): Promise<RunResult> {
  const out: RunResult = { sent: 0, refused: 0, read: 0, frameworkRefused: 0, byFramework: {}, diffs: [], codes: {} };
  for (const f of fws) out.byFramework[f.name] = { read: 0, refused: 0, frameworkRefused: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < samples.length) {
      const r = samples[next++] as GenRequest;
      for (const fw of fws) {
        const o = await send(fw, r);
        out.sent++;
        const b = out.byFramework[fw.name] as { read: number; refused: number; frameworkRefused: number };
        if (o.kind === 'refused') {
          out.refused++;
          b.refused++;
          if (o.code !== undefined) out.codes[o.code] = (out.codes[o.code] ?? 0) + 1;
        } else if (o.kind === 'read') {
          out.read++;
          b.read++;
        } else {
          out.frameworkRefused++;
          b.frameworkRefused++;
        }
        if (o.diffs.length > 0) out.diffs.push({ framework: fw.name, request: r, diffs: o.diffs });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return out;
}

function describeRequest(r: GenRequest): string {
  return `${r.method} ${r.target} ${JSON.stringify(r.headers)} body=${r.body === null ? 'none' : JSON.stringify(r.body.toString('latin1').slice(0, 120))}${r.chunked ? ' (chunked)' : ''}`;
}

describe('differential: frameworks read what the gateway read', () => {
  let fws: Framework[];
  let gw: TestGateway;

  before(async () => {
    fws = await startFrameworks();
    gw = await startGateway(gatewayConfig(fws, null), { modules: [...STAGES, recorder] });
  });

  after(async () => {
    await gw.close();
    await Promise.all(fws.map((f) => f.close()));
  });

  it(`${RUNS} generated ambiguous requests, each to Express, Express with qs, Fastify and Koa: 0 differences`, { timeout: 600_000 }, async () => {
    const samples = fc.sample(requestArb, { seed: SEED, numRuns: RUNS });
    const t0 = Date.now();
    const r = await run(gw, fws, samples);
    const summary = `seed ${SEED} (PC_DIFF_SEED=${SEED} reproduces it): ${r.sent} requests in ${((Date.now() - t0) / 1000).toFixed(1)} s; gateway refused ${r.refused}, framework read ${r.read}, framework refused ${r.frameworkRefused}; ${JSON.stringify(r.byFramework)}; refusals ${JSON.stringify(r.codes)}`;
    console.log(`differential: ${summary}`);
    if (r.diffs.length > 0) {
      const first = r.diffs.slice(0, 12).map((d) => `  [${d.framework}] ${describeRequest(d.request)}\n     ${d.diffs.join('\n     ')}`);
      assert.fail(`${r.diffs.length} differences, ${summary}\n${first.join('\n')}`);
    }
    // the run means something only if frameworks read a good share of what was sent
    for (const f of fws)
      assert.ok((r.byFramework[f.name]?.read ?? 0) > RUNS / 10, `${f.name} read too few requests to compare: ${JSON.stringify(r.byFramework[f.name])}`);
    assert.equal(r.sent, RUNS * fws.length);
    assert.deepEqual([...ROUTES].sort(), ['admin', 'items', 'items-one', 'rest']);
  });

  it('known ambiguities, every run: form values with ]= or %5D= (qs splits the pair there) are refused before any framework sees them', async () => {
    const form = (body: string, query = ''): GenRequest => ({
      method: 'POST',
      target: `/items${query}`,
      headers: [['content-type', 'application/x-www-form-urlencoded']],
      body: Buffer.from(body),
      chunked: false,
    });
    const samples = [form('a=x]=y'), form('a=x%5D=y'), form('a=x%5d=y'), form('b=1&a=x%5D=y'), form('a=1', '?q=x%5D=y')];
    const r = await run(gw, fws, samples);
    assert.deepEqual(r.diffs, []);
    assert.equal(r.refused, samples.length * fws.length, JSON.stringify(r.byFramework));
    // and the same values without the ambiguity are read alike by all of them
    const plain = await run(gw, fws, [form('a=x%5Dy'), form('a=x%3Dy')]);
    assert.deepEqual(plain.diffs, []);
    assert.equal(plain.read, 2 * fws.length, JSON.stringify(plain.byFramework));
  });

  it(`over HTTP/2 (h2c): ${H2_RUNS} generated ambiguous requests, each to Express, Express with qs, Fastify and Koa: 0 differences`, {
    timeout: 600_000,
  }, async () => {
    // the gateway reads an HTTP/2 request into the HTTP/1.1 form (src/intake/http2.ts) and forwards it over HTTP/1.1
    const h2 = await startGateway(gatewayConfig(fws, null, '{ port: 0, protocols: [h2] }'), { modules: [...STAGES, recorder] });
    const session = http2.connect(h2.url);
    try {
      const samples = fc.sample(requestArb, { seed: SEED + 1, numRuns: H2_RUNS });
      const r = await runWith((fw, req) => sendOneH2(session, fw, req), fws, samples);
      const summary = `seed ${SEED + 1}: ${r.sent} requests; gateway refused ${r.refused}, framework read ${r.read}, framework refused ${r.frameworkRefused}; ${JSON.stringify(r.byFramework)}; refusals ${JSON.stringify(r.codes)}`;
      console.log(`differential over h2c: ${summary}`);
      if (r.diffs.length > 0) {
        const first = r.diffs.slice(0, 12).map((d) => `  [${d.framework}] ${describeRequest(d.request)}\n     ${d.diffs.join('\n     ')}`);
        assert.fail(`${r.diffs.length} differences over h2c, ${summary}\n${first.join('\n')}`);
      }
      for (const f of fws)
        assert.ok((r.byFramework[f.name]?.read ?? 0) > H2_RUNS / 10, `${f.name} read too few requests over h2c: ${JSON.stringify(r.byFramework[f.name])}`);
      assert.equal(r.sent, H2_RUNS * fws.length);
    } finally {
      session.close();
      await h2.close();
    }
  });

  it('the harness finds differences when the gateway is told a framework reads paths otherwise than it does', async () => {
    const liar = await startGateway(gatewayConfig(fws, 'fastify'), { modules: [...STAGES, recorder] });
    try {
      const samples: GenRequest[] = ['/Items', '/items/', '/ADMIN', '/items/1/'].map((target) => ({
        method: 'GET',
        target,
        headers: [],
        body: null,
        chunked: false,
      }));
      const r = await run(
        liar,
        fws.filter((f) => f.name === 'fastify'),
        samples,
      );
      assert.ok(
        r.diffs.some((d) => d.diffs.some((x) => x.startsWith('route:'))),
        `expected route differences, got ${JSON.stringify(r.diffs)}`,
      );
    } finally {
      await liar.close();
    }
  });
});
