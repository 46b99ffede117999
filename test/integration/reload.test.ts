import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../helpers/net.js';
import { request, Agent } from 'undici';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { tracked } from '../helpers/children.js';

const CONFIG = (routeId: string, extra = '') => `
version: 1
listeners: [{ port: 0 }]
access_log: { enabled: false }
upstreams:
  u: { targets: [{ url: "{{UP}}" }] }
routes:
  - { id: ${routeId}, match: { prefix: /api }, upstream: u }
${extra}`;

test('a config reload every 100 ms during 2,000 requests under load fails 0 requests', async () => {
  const up = await startUpstream((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    }, 2);
  });
  const gw = await startGateway(CONFIG('a'), { modules: [], vars: { UP: up.url } });
  const agent = new Agent({ connections: 32 });
  let stop = false;
  let reloads = 0;
  const reloader = (async () => {
    while (!stop) {
      await new Promise((r) => setTimeout(r, 100));
      const ok = await gw.reload(CONFIG(reloads % 2 === 0 ? 'b' : 'a', reloads % 2 === 0 ? '  - { id: extra, match: { path: /x }, upstream: u }' : ''));
      assert.ok(ok);
      reloads++;
    }
  })();
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < 2000) {
      next++;
      const r = await request(`${gw.url}/api/items`, { dispatcher: agent });
      await r.body.dump();
      statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
    }
  };
  try {
    await Promise.all(Array.from({ length: 16 }, worker));
    stop = true;
    await reloader;
    assert.deepEqual([...statuses.entries()], [[200, 2000]]);
    assert.ok(reloads >= 5, `reloaded ${reloads} times during the load`);
    const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
    assert.match(metrics, new RegExp(`portcullis_config_reloads_total\\{result="success"\\} ${reloads + 1}`));
  } finally {
    stop = true;
    await agent.close();
    await gw.close();
    await up.close();
  }
});

test('a reload that fails keeps the running config, logs why and counts it', async () => {
  const up = await startUpstream();
  const gw = await startGateway(CONFIG('a'), { modules: [], vars: { UP: up.url } });
  try {
    const ok = await gw.reload(CONFIG('a').replace('upstream: u }', 'upstream: u, bogus: 1 }'));
    assert.equal(ok, false);
    const r = await request(`${gw.url}/api/x`);
    assert.equal(r.statusCode, 200);
    await r.body.dump();
    const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
    assert.match(metrics, /portcullis_config_reloads_total\{result="failure"\} 1/);
    const ev = gw.eventLines().find((l) => l.event === 'config_reload_failed');
    assert.match(String(ev?.error), /unknown key 'bogus'/);
  } finally {
    await gw.close();
    await up.close();
  }
});

test('SIGHUP and a change of the config file reload the running process', async () => {
  const up = await startUpstream();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-reload-'));
  const file = join(dir, 'p.yaml');
  const text = (path: string) => `version: 1
listeners: [{ port: ${port} }]
admin: { enabled: false }
access_log: { enabled: false }
upstreams: { u: { targets: [{ url: "${up.url}" }] } }
routes: [{ id: r, match: { path: ${path} }, upstream: u, auth: none }]
`;
  writeFileSync(file, text('/one'));
  const bin = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'portcullis.js');
  const child = tracked(spawn(process.execPath, [bin, 'start', '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const status = async (p: string) => {
    const r = await request(`http://127.0.0.1:${port}${p}`);
    await r.body.dump();
    return r.statusCode;
  };
  const waitFor = async (p: string, want: number, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if ((await status(p).catch(() => 0)) === want) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };
  try {
    assert.ok(await waitFor('/one', 200, 30000), `the gateway started: ${err}`);
    writeFileSync(file, text('/two'));
    assert.ok(await waitFor('/two', 200), 'file change reloads');
    assert.equal(await status('/one'), 404);
    // with watching on, SIGHUP also reloads (here: the same file, a no-op reload that must succeed)
    child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await status('/two'), 200);
    assert.equal((err.match(/config_reloaded/g) ?? []).length >= 2, true, err);
  } finally {
    child.kill('SIGKILL');
    await up.close();
  }
});
