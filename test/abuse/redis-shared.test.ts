/**
 * Two gateway processes sharing a real Redis (the test run's private one, then its three-master
 * Redis Cluster): a ban placed by one is enforced by the other within one second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { startUpstream } from '../helpers/upstream.js';
import { deleteKeys, redisClusterNodes, redisUrl } from '../helpers/redis.js';
import { tracked } from '../helpers/children.js';

const here = dirname(fileURLToPath(import.meta.url));
const TOKEN = 'redis-test-admin-token-0123';

interface Proc {
  child: ChildProcess;
  url: string;
  admin: string;
}

async function spawnGateway(file: string, prefix: string, cluster: boolean): Promise<Proc> {
  const child = tracked(
    spawn(process.execPath, [join(here, 'fixtures', 'gateway-process.js'), file], {
      env: {
        ...process.env,
        PC_TEST_REDIS_URL: redisUrl(),
        PC_TEST_REDIS_PREFIX: prefix,
        ...(cluster ? { PC_TEST_REDIS_CLUSTER_NODES: redisClusterNodes().join(',') } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${err}`)));
  });
  const { port, admin } = JSON.parse(line) as { port: number; admin: number };
  return { child, url: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${admin}` };
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    p.child.once('exit', () => resolve());
    p.child.kill('SIGTERM');
  });
}

async function code(url: string): Promise<string | number> {
  const r = await request(url);
  const text = await r.body.text();
  if (r.statusCode < 400) return r.statusCode;
  try {
    return (JSON.parse(text) as { code: string }).code;
  } catch {
    return r.statusCode;
  }
}

for (const backend of ['Redis', 'a three-master Redis Cluster'] as const)
  test(`with two gateway processes sharing ${backend}, a ban placed by one is enforced by the other within 1 s`, async (t) => {
    const cluster = backend !== 'Redis';
    const up = await startUpstream();
    const prefix = `pc-test-${randomBytes(6).toString('hex')}:`;
    const dir = mkdtempSync(join(tmpdir(), 'pc-redis-'));
    const file = join(dir, 'portcullis.yaml');
    writeFileSync(
      file,
      `
version: 1
listeners: [{ port: 0 }]
admin: { port: 0, token: ${TOKEN} }
access_log: { enabled: false }
upstreams: { app: { targets: [{ url: '${up.url}' }] } }
routes: [{ id: items, match: { path: '/items/{id}' }, upstream: app, auth: none }]
abuse:
  detectors:
    scanning: { threshold: 20, window_ms: 10000 }
  ban: { base_ms: 60000 }
`,
    );
    const a = await spawnGateway(file, prefix, cluster);
    const b = await spawnGateway(file, prefix, cluster);
    try {
      assert.equal(await code(`${b.url}/items/1`), 200);
      // scan gateway A until it bans this client
      let bannedAt = 0;
      for (let i = 0; i < 60 && bannedAt === 0; i++) {
        if ((await code(`${a.url}/probe-${i}`)) === 'PC_ERR_CLIENT_BANNED') bannedAt = Date.now();
      }
      assert.ok(bannedAt > 0, 'gateway A banned the scanner');
      // gateway B enforces the ban
      let enforcedAt = 0;
      while (enforcedAt === 0 && Date.now() - bannedAt < 3000) {
        if ((await code(`${b.url}/items/1`)) === 'PC_ERR_CLIENT_BANNED') enforcedAt = Date.now();
        else await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(enforcedAt > 0, 'gateway B enforces the ban');
      t.diagnostic(`gateway B enforced the ban ${enforcedAt - bannedAt} ms after gateway A placed it`);
      assert.ok(enforcedAt - bannedAt < 1000, `enforced ${enforcedAt - bannedAt} ms after the ban`);

      // B's admin API lists it (from Redis) and lifting it there frees the client on A
      const list = await request(`${b.admin}/admin/bans`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const bans = ((await list.body.json()) as { bans: { client: string; source: string }[] }).bans;
      assert.deepEqual(
        bans.map((x) => [x.client, x.source]),
        [['127.0.0.1', 'scanning']],
      );
      const lift = await request(`${b.admin}/admin/bans/127.0.0.1`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
      await lift.body.dump();
      assert.equal(lift.statusCode, 200);
      const deadline = Date.now() + 3000;
      let freed = false;
      while (!freed && Date.now() < deadline) {
        freed = (await code(`${a.url}/items/2`)) === 200;
        if (!freed) await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(freed, 'the lift reached gateway A');
    } finally {
      await Promise.all([stop(a), stop(b)]);
      await up.close();
      await deleteKeys(cluster ? redisClusterNodes() : [redisUrl()], prefix);
    }
  });
