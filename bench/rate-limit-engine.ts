// Ad-hoc throughput check of issue 5 (not part of `npm test`): an unlimited route vs the same
// route with a per-IP limit that always allows, with the memory store and with Redis (a private
// redis-server), through wrk (64 connections). Also counts Redis commands per request with
// INFO commandstats. Gateway pinned to CPU 0; wrk, upstream and Redis on CPU 1.
//   npm run build && node dist/bench/rate-limit-engine.js [seconds] [rounds]
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePort, startPrivateRedis } from '../test/rate-limit/redis-server.js';
import { MemoryStore } from '../src/store/memory.js';
import { DEFAULT_MAX_ENTRIES } from '../src/store/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const secs = Number(process.argv[2] ?? 4);
const rounds = Number(process.argv[3] ?? 3);
const work = mkdtempSync(join(tmpdir(), 'portcullis-rlperf-'));
const kids: ChildProcess[] = [];
process.on('exit', () => {
  for (const k of kids) k.kill('SIGKILL');
});

function start(cpu: number, cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const c = spawn('taskset', ['-c', String(cpu), cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  kids.push(c);
  return c;
}

/** utime + stime of a process in seconds (/proc, 100 ticks/s). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

const pids: Record<number, number> = {};

async function gateway(cpu: number, yaml: string): Promise<number> {
  const file = join(work, `${Math.random()}.yaml`);
  writeFileSync(file, yaml);
  const c = start(cpu, process.execPath, [join(HERE, 'gateway-process.js'), file]);
  return new Promise((resolve) => {
    let out = '';
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const l = out.split('\n').find((x) => x.startsWith('{'));
      if (l) {
        const port = (JSON.parse(l) as { port: number }).port;
        pids[port] = c.pid!;
        resolve(port);
      }
    });
  });
}

/** Requests per second of wall time, and requests per CPU second of the gateway (robust on a busy machine). */
function wrk(url: string, port: number): { rps: number; perCpuSecond: number } {
  const pid = pids[port]!;
  const cpu0 = cpuSeconds(pid);
  const out = execFileSync('taskset', ['-c', '1', 'wrk', '-t1', '-c64', `-d${secs}s`, '--latency', url], { encoding: 'utf8' });
  const cpu = cpuSeconds(pid) - cpu0;
  const n = Number(/(\d+) requests in/.exec(out)?.[1]);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), perCpuSecond: Math.round(n / cpu) };
}

// RSS growth of the memory store under 1,000,000 distinct client IPs at the default cap
function rssGrowth(): { entries: number; rssGrowthMb: number } {
  global.gc?.();
  const before = process.memoryUsage().rss;
  const store = new MemoryStore({ maxEntries: DEFAULT_MAX_ENTRIES });
  const check = { kind: 'bucket' as const, key: '', intervalMs: 10, burst: 100, enforce: true };
  const now = Date.now();
  for (let i = 0; i < 1_000_000; i++) {
    check.key = `b:g:per-ip:ip=10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
    store.limitSync([check], now);
  }
  const after = process.memoryUsage().rss;
  return { entries: store.size, rssGrowthMb: Math.round((after - before) / 1048576) };
}
const memoryBound = rssGrowth();

const redis = await startPrivateRedis();
const upPort = await freePort();
start(1, process.execPath, [join(ROOT, 'bench', 'upstream.mjs')], { PORT: String(upPort) });
await new Promise((r) => setTimeout(r, 500));

const headers = process.env['RL_PERF_HEADERS'] === 'false' ? 'rate_limits: { headers: false }\n' : '';
const routes = `${headers}
upstreams:
  demo: { targets: [{ url: "http://127.0.0.1:${upPort}" }] }
routes:
  - { id: open, match: { path: "/open/api/items/{id}", methods: [GET] }, upstream: demo, strip_prefix: /open, rate_limit: off }
  - id: limited
    match: { path: "/limited/api/items/{id}", methods: [GET] }
    upstream: demo
    strip_prefix: /limited
    rate_limit: [{ name: per-ip, key: [ip], rate: 1000000/s, burst: 1000000000 }]
`;
const head = `version: 1\nlisteners: [{ port: 0 }]\nadmin: { enabled: false }\naccess_log: { enabled: false }\nreload: { watch: false }\n`;
const mem = await gateway(0, `${head}state: { store: memory }\n${routes}`);
const red = await gateway(0, `${head}state: { store: redis, redis: { url: "${redis.url}", command_timeout_ms: 1000 } }\n${routes}`);

const results: Record<string, unknown> = {};
const only = process.env['RL_PERF_STORES']?.split(',') ?? ['memory', 'redis'];
for (const [name, port] of [
  ['memory', mem],
  ['redis', red],
] as const) {
  if (!only.includes(name)) continue;
  const base = `http://127.0.0.1:${port}`;
  // warm up both paths (JIT) before measuring
  for (let i = 0; i < 2; i++) {
    wrk(`${base}/open/api/items/1`, port);
    wrk(`${base}/limited/api/items/1`, port);
  }
  const rows: { unlimited: number; limited: number; unlimitedPerCpuSecond: number; limitedPerCpuSecond: number }[] = [];
  for (let i = 0; i < rounds; i++) {
    // alternate the order so that drifting machine load favours neither side
    const first = i % 2 === 0 ? wrk(`${base}/open/api/items/1`, port) : null;
    const l = wrk(`${base}/limited/api/items/1`, port);
    const o = first ?? wrk(`${base}/open/api/items/1`, port);
    rows.push({ unlimited: o.rps, limited: l.rps, unlimitedPerCpuSecond: o.perCpuSecond, limitedPerCpuSecond: l.perCpuSecond });
  }
  const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  results[name] = {
    rounds: rows,
    medianRatioRps: +median(rows.map((r) => r.limited / r.unlimited)).toFixed(3),
    medianRatioPerCpuSecond: +median(rows.map((r) => r.limitedPerCpuSecond / r.unlimitedPerCpuSecond)).toFixed(3),
  };
}

// Redis round trips per limited request
const admin = new Redis(redis.url);
await admin.config('RESETSTAT');
const n = 500;
for (let i = 0; i < n; i++) await fetch(`http://127.0.0.1:${red}/limited/api/items/1`).then((r) => r.arrayBuffer());
const info = await admin.info('commandstats');
await admin.quit();
const calls = Object.fromEntries([...info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
results.redisCommandsPer500Requests = calls;
results.memoryStore1MIps = memoryBound;
console.log(JSON.stringify(results, null, 2));
await redis.stop();
process.exit(0);
