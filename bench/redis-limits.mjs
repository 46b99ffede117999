#!/usr/bin/env node
// Issue 28: the Redis side of rate limiting, without the gateway: the store's limit decisions
// (dist/src/store/redis.js, as the rate-limit stage makes them) for 300 clients, each decision one
// per-IP bucket and one per-IP daily quota (one tag), driven at full speed against one Redis and
// against a three-master Redis Cluster (every redis-server pinned to CPU 1, this driver to CPU 0).
// Per setup: decisions per second, commands each server received per decision, each master's
// share, and the Redis CPU per decision (/proc, user + system): the figure masters are sized by.
//
//   npm run build && node bench/redis-limits.mjs [seconds=5] [in-flight=64]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, procCpu, waitPort } from './net.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.argv[2] ?? 5);
const inFlight = Number(process.argv[3] ?? 64);
const { RedisStore } = await import(join(ROOT, 'dist', 'src', 'store', 'redis.js'));
const pinned = !spawnSync('taskset', ['-c', '0', 'true']).error;
if (pinned) spawnSync('taskset', ['-pc', '0', String(process.pid)]);

const dir = mkdtempSync(join(tmpdir(), 'portcullis-redis-limits-'));
const children = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function server(extra = []) {
  const port = await freePort();
  const argv = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra];
  const c = pinned ? spawn('taskset', ['-c', '1', 'redis-server', ...argv], { stdio: 'ignore' }) : spawn('redis-server', argv, { stdio: 'ignore' });
  children.push(c);
  await waitPort(port);
  return { port, pid: c.pid };
}

const cli = (port, ...args) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });

function commands(port) {
  const info = cli(port, 'info', 'commandstats');
  const inner = new Set(['get', 'set', 'decr', 'del', 'zadd', 'zcard', 'zrem', 'zremrangebyscore', 'pexpire']);
  let sent = 0;
  let scripts = 0;
  for (const m of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
    if (!inner.has(m[1])) sent += Number(m[2]);
    if (m[1] === 'evalsha' || m[1] === 'eval') scripts += Number(m[2]);
  }
  return { sent, scripts };
}

const silent = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent };

async function measure(name, servers, options) {
  const store = new RedisStore({
    keyPrefix: `bench${process.pid}:`,
    connectTimeoutMs: 2000,
    commandTimeoutMs: 5000,
    reconnectMaxDelayMs: 500,
    logger: silent,
    ...options,
  });
  if (!(await store.whenReady(10000))) throw new Error(`${name}: store not ready`);
  // A/B: BENCH_NO_AUTOPIPELINE=1 sends each script on its own (ioredis reads the option per command)
  if (process.env.BENCH_NO_AUTOPIPELINE) store.client.options.enableAutoPipelining = false;
  await new Promise((r) => setTimeout(r, 200)); // SCRIPT LOAD on every master
  const checksOf = (i) => {
    const tag = `ip=10.${(i >> 8) & 255}.${i & 255}.7`;
    return [
      { kind: 'bucket', key: `b:g:perip:${tag}`, intervalMs: 0.001, burst: 1e9, enforce: true, tag },
      { kind: 'quota', key: `q:g:daily:${tag}:d1`, limit: 1e9, resetAt: Date.now() + 86400000, enforce: true, tag },
    ];
  };
  for (const s of servers) cli(s.port, 'config', 'resetstat');
  const cpu0 = servers.map((s) => procCpu(s.pid));
  let n = 0;
  const end = Date.now() + seconds * 1000;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (Date.now() < end) {
        const r = await store.limit(checksOf(n++ % 300), Date.now());
        if (!r.allowed) throw new Error('refused');
      }
    }),
  );
  const elapsed = (Date.now() - t0) / 1000;
  const rows = servers.map((s, i) => ({ ...commands(s.port), cpu: procCpu(s.pid) - cpu0[i], port: s.port }));
  const scripts = rows.reduce((a, r) => a + r.scripts, 0);
  await store.close();
  console.log(
    `\n${name}: ${n.toLocaleString('en-US')} decisions in ${elapsed.toFixed(1)} s (${Math.round(n / elapsed).toLocaleString('en-US')}/s, ${inFlight} in flight)`,
  );
  console.log('| server | commands per decision | share of the limit scripts | Redis CPU µs per decision served | Redis CPU µs per decision (all) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| 127.0.0.1:${r.port} | ${(r.sent / n).toFixed(3)} | ${((100 * r.scripts) / scripts).toFixed(1)}% | ${((r.cpu * 1e6) / Math.max(1, r.scripts)).toFixed(2)} | ${((r.cpu * 1e6) / n).toFixed(2)} |`,
    );
  }
}

const one = await server();
await measure('one Redis', [one], { url: `redis://127.0.0.1:${one.port}` });
const masters = [];
for (let i = 0; i < 3; i++)
  masters.push(await server(['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `n${i}.conf`), '--cluster-require-full-coverage', 'no']));
cli(masters[0].port, '--cluster', 'create', ...masters.map((m) => `127.0.0.1:${m.port}`), '--cluster-replicas', '0', '--cluster-yes');
for (const m of masters) {
  for (let i = 0; i < 100 && !cli(m.port, 'cluster', 'info').includes('cluster_state:ok'); i++) await new Promise((r) => setTimeout(r, 100));
}
await measure('three-master Redis Cluster', masters, { url: 'redis://unused', clusterNodes: masters.map((m) => `redis://127.0.0.1:${m.port}`) });
process.exit(0);
