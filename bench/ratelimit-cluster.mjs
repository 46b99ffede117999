// Issue 28: rate limits on one Redis and on a three-master Redis Cluster, 300 clients. Measures the
// Redis commands per request and the share of them each master serves (INFO commandstats), and the
// Redis CPU per request (/proc), from which docs/rate-limiting.md sizes the number of masters.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { procCpu } from './net.mjs';

const CLIENTS = { name: 'get', script: 'get-clients.lua', path: '/api/items/42' };
const LIMIT = '[{ name: perip, key: [ip], rate: "1000000/s", burst: 1000000 }]';

/** redis-server processes of the scenario (on CPU 1, beside wrk and the upstream), started once. */
let servers = null;
async function start(env) {
  if (servers) return servers;
  const dir = mkdtempSync(join(env.work, 'redis-'));
  const base = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const single = await env.freePort();
  const one = env.startProc(1, 'redis-server', ['--port', String(single), ...base]);
  const ports = [await env.freePort(), await env.freePort(), await env.freePort()];
  const masters = ports.map((p) =>
    env.startProc(1, 'redis-server', [
      '--port',
      String(p),
      ...base,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${p}.conf`),
      '--cluster-require-full-coverage',
      'no',
    ]),
  );
  for (const p of [single, ...ports]) await env.waitPort(p);
  execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
  for (const p of ports) {
    for (let i = 0; i < 100; i++) {
      if (execFileSync('redis-cli', ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8' }).includes('cluster_state:ok')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  servers = { single: { port: single, proc: one }, cluster: ports.map((port, i) => ({ port, proc: masters[i] })) };
  return servers;
}

function stats(port) {
  const info = execFileSync('redis-cli', ['-p', String(port), 'info', 'commandstats'], { encoding: 'utf8' });
  const calls = [...info.matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+)/g)].map((m) => ({ cmd: m[1], calls: Number(m[2]), usec: Number(m[3]) }));
  const scripts = calls.filter((c) => c.cmd === 'evalsha' || c.cmd === 'eval');
  return {
    // commands a client sent (the script's own GET/SET are counted by Redis inside EVALSHA)
    sent: calls.filter((c) => !['get', 'set', 'zadd', 'zcard', 'zremrangebyscore', 'pexpire'].includes(c.cmd)).reduce((a, c) => a + c.calls, 0),
    scripts: scripts.reduce((a, c) => a + c.calls, 0),
    scriptUsec: scripts.reduce((a, c) => a + c.usec, 0),
  };
}

const requestsOf = (name, { results, warmups, pairs, together }) =>
  (results.get?.[name] ?? []).reduce((a, r) => a + r.requests, 0) +
  (pairs.get?.[name] ?? []).reduce((a, x) => a + x.t.requests, 0) +
  (together.get?.[name] ?? []).reduce((a, x) => a + x.t.requests, 0) +
  (warmups.get?.[name]?.requests ?? 0);

const pct = (x) => `${(100 * x).toFixed(1)}%`;

let cpuAtStart = null;

/** The scenario; `gateway` is scenarios.mjs's gateway starter (passed in: no import cycle). */
export const ratelimitClusterScenario = (gateway) => ({
  title: 'Rate limits on one Redis and on a three-master Redis Cluster (issue 28): 300 clients',
  description:
    'GET through one route as 300 clients (wrk sets X-Forwarded-For from 300 addresses; the gateway trusts 127.0.0.1 as a proxy), with no limit, and with a per-IP token bucket that never refuses on one Redis and on a three-master Redis Cluster (all redis-server processes on CPU 1, beside wrk and the upstream). Per server: the commands the gateway sent, the limit scripts, their share of the scenario, and the Redis CPU per request (/proc, user + system, over the whole scenario): the figure docs/rate-limiting.md sizes masters from.',
  baseline: 'unlimited',
  targets: [
    { name: 'unlimited', start: gateway('ratelimit-cluster.yaml', { LIMIT: 'off', STATE: '{ store: memory }' }) },
    {
      name: 'redis-one',
      start: async (env) => {
        const s = await start(env);
        return gateway('ratelimit-cluster.yaml', {
          LIMIT,
          STATE: `{ store: redis, redis: { url: "redis://127.0.0.1:${s.single.port}", key_prefix: "pc-bench-${process.pid}:" } }`,
        })(env);
      },
    },
    {
      name: 'redis-cluster-3',
      start: async (env) => {
        const s = await start(env);
        const nodes = s.cluster.map((m) => `"redis://127.0.0.1:${m.port}"`).join(', ');
        return gateway('ratelimit-cluster.yaml', {
          LIMIT,
          STATE: `{ store: redis, redis: { cluster_nodes: [${nodes}], key_prefix: "pc-bench-${process.pid}:" } }`,
        })(env);
      },
    },
  ],
  workloads: [CLIENTS],
  checks: [
    { workload: 'get', target: 'redis-one', minRatio: 0.6 },
    { workload: 'get', target: 'redis-cluster-3', minRatio: 0.6 },
  ],
  verify: async (env) => {
    const s = await start(env);
    for (const m of [s.single, ...s.cluster]) execFileSync('redis-cli', ['-p', String(m.port), 'config', 'resetstat']);
    cpuAtStart = new Map([s.single, ...s.cluster].map((m) => [m.port, procCpu(m.proc.pid)]));
  },
  after: async (env) => {
    const s = await start(env);
    const rows = [];
    const line = (target, label, m, reqs, all) => {
      const st = stats(m.port);
      const cpu = procCpu(m.proc.pid);
      const cpuS = cpu === null || cpuAtStart?.get(m.port) == null ? null : cpu - cpuAtStart.get(m.port);
      rows.push(
        `| ${target} | ${label} | ${reqs.toLocaleString('en-US')} | ${st.sent.toLocaleString('en-US')} | ${st.scripts.toLocaleString('en-US')} | ${(st.sent / reqs).toFixed(3)} | ${all ? pct(st.scripts / all) : '100%'} | ${(st.scriptUsec / Math.max(1, st.scripts)).toFixed(2)} | ${cpuS === null ? '-' : ((cpuS * 1e6) / reqs).toFixed(2)} |`,
      );
      return st;
    };
    const one = requestsOf('redis-one', env);
    line('redis-one', `127.0.0.1:${s.single.port}`, s.single, one, 0);
    const three = requestsOf('redis-cluster-3', env);
    const all = s.cluster.map((m) => stats(m.port).scripts).reduce((a, b) => a + b, 0);
    for (const m of s.cluster) line('redis-cluster-3', `master 127.0.0.1:${m.port}`, m, three, all);
    return [
      '| target | server | requests (whole scenario, wrk) | commands sent to it | limit scripts | commands per request | share of the limit scripts | µs per script (Redis commandstats) | Redis CPU µs per request of the target (/proc) |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows,
    ].join('\n');
  },
});
