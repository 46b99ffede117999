/**
 * JWT `jti` replay protection: a token is accepted once on a replay-protected route, in one
 * gateway (memory store) and across two gateway processes sharing one Redis.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { forProtocol, registerGatewayPorts, testProtocol } from '../helpers/protocol.js';
import { AUTH_MODULES, bearer, jwt, nowS, pastStartSecond, rawRequest } from './support.js';
import { deleteKeys, redisClusterNodes, redisUrl } from '../helpers/redis.js';
import { tracked } from '../helpers/children.js';

const ISS = 'https://issuer.test';
const secret = randomBytes(48).toString('base64url');
const token = (extra: Record<string, unknown> = {}): string =>
  jwt({ alg: 'HS256', typ: 'JWT' }, { iss: ISS, sub: 'svc', iat: nowS(), exp: nowS() + 120, jti: randomUUID(), ...extra }, Buffer.from(secret));

const configText = (upstream: string, state: string): string => `
version: 1
listeners: [{ port: 0 }]
upstreams:
  up: { targets: [{ url: "${upstream}" }] }
${state}
auth:
  jwt:
    providers:
      main: { issuer: ${ISS}, algorithms: [HS256], secret: "${secret}" }
routes:
  - id: once
    match: { prefix: /once }
    upstream: up
    auth:
      any_of: [{ jwt: {} }]
      replay: { jti: true }
  - id: many
    match: { prefix: /many }
    upstream: up
`;

interface Child {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

async function spawnGateway(file: string): Promise<Child> {
  // PC_TEST_PROTOCOL=h2|h2c: the listeners serve HTTP/2 (test/helpers/protocol.ts)
  writeFileSync(file, forProtocol(readFileSync(file, 'utf8')));
  const script = fileURLToPath(new URL('./gateway-process.js', import.meta.url));
  const proc = tracked(spawn(process.execPath, [script, file], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20000)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${err}`)), 20000);
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited ${code}: ${err}`));
    });
  });
  registerGatewayPorts([port]);
  return {
    url: `${testProtocol() === 'h2' ? 'https' : 'http'}://127.0.0.1:${port}`,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

describe('jti replay protection', () => {
  let up: TestUpstream;
  before(async () => {
    up = await startUpstream();
  });
  after(async () => {
    await up.close();
  });

  describe('one gateway, memory store', () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startGateway(configText(up.url, ''), { modules: AUTH_MODULES });
      await pastStartSecond(); // tokens issued in the start's second predate the memory store
    });
    after(async () => {
      await gw.close();
    });

    test('a token is accepted once on a replay-protected route and refused with PC_ERR_AUTH_TOKEN_REPLAYED after', async () => {
      const t = token();
      assert.equal((await rawRequest(`${gw.url}/once`, { headers: bearer(t) })).status, 200);
      const r = await rawRequest(`${gw.url}/once`, { headers: bearer(t) });
      assert.equal(r.status, 401);
      assert.equal(r.json().code, 'PC_ERR_AUTH_TOKEN_REPLAYED');
      assert.match(String(r.headers['www-authenticate']), /error="invalid_token"/);
    });

    test('a token without jti is refused on a replay-protected route', async () => {
      const r = await rawRequest(`${gw.url}/once`, { headers: bearer(token({ jti: undefined })) });
      assert.equal(r.status, 401);
      assert.equal(r.json().code, 'PC_ERR_AUTH_TOKEN_CLAIMS');
    });

    test('routes without replay protection accept a reused token', async () => {
      const t = token();
      for (let i = 0; i < 3; i++) assert.equal((await rawRequest(`${gw.url}/many`, { headers: bearer(t) })).status, 200);
    });
  });

  for (const backend of ['one Redis', 'a three-master Redis Cluster'] as const)
    describe(`two gateway processes sharing ${backend}`, () => {
      const prefix = `pc-auth-test:${randomBytes(4).toString('hex')}:`;
      const where = (): string =>
        backend === 'one Redis'
          ? `url: "${redisUrl()}"`
          : `cluster_nodes: [${redisClusterNodes()
              .map((n) => `"${n}"`)
              .join(', ')}]`;
      let a: Child;
      let b: Child;
      before(async () => {
        const dir = mkdtempSync(join(tmpdir(), 'portcullis-auth-'));
        const file = join(dir, 'portcullis.yaml');
        writeFileSync(
          file,
          `${configText(up.url, `state:\n  store: redis\n  redis: { ${where()}, key_prefix: "${prefix}", command_timeout_ms: 2000 }`)}\naccess_log: { enabled: false }\nadmin: { enabled: false }\n`,
        );
        [a, b] = await Promise.all([spawnGateway(file), spawnGateway(file)]);
        // readiness: the store connects to Redis after the listener is up (503 until then)
        for (const g of [a, b]) {
          let status = 0;
          for (let i = 0; i < 100 && status !== 200; i++) {
            status = (await rawRequest(`${g.url}/once`, { headers: bearer(token()) })).status;
            if (status === 503) await new Promise((r) => setTimeout(r, 50));
            else assert.equal(status, 200);
          }
          assert.equal(status, 200, 'the gateway reaches Redis');
        }
      });
      after(async () => {
        await Promise.all([a?.stop(), b?.stop()]);
        await deleteKeys(backend === 'one Redis' ? [redisUrl()] : redisClusterNodes(), prefix);
      });

      test('a token used on one gateway is refused as a replay on the other', async () => {
        const t1 = token();
        assert.equal((await rawRequest(`${a.url}/once`, { headers: bearer(t1) })).status, 200);
        const r = await rawRequest(`${b.url}/once`, { headers: bearer(t1) });
        assert.equal(r.status, 401);
        assert.equal(r.json().code, 'PC_ERR_AUTH_TOKEN_REPLAYED');
        const t2 = token();
        assert.equal((await rawRequest(`${b.url}/once`, { headers: bearer(t2) })).status, 200);
        assert.equal((await rawRequest(`${a.url}/once`, { headers: bearer(t2) })).json().code, 'PC_ERR_AUTH_TOKEN_REPLAYED');
      });

      test('the same token sent to both gateways at once is accepted exactly once', async () => {
        const t = token();
        const rs = await Promise.all([...Array(6).keys()].map((i) => rawRequest(`${(i % 2 === 0 ? a : b).url}/once`, { headers: bearer(t) })));
        assert.equal(rs.filter((r) => r.status === 200).length, 1);
        assert.equal(rs.filter((r) => r.status === 401).length, 5);
      });
    });
});
