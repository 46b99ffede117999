// Instructions per proxied request, counted by valgrind's callgrind: Portcullis (core.yaml, access
// log on) against the Node limit. Unlike req/s and CPU time, an instruction count hardly moves
// with other load on a shared machine, so it shows a change of a few percent that wrk's figures
// hide in noise. It does not see cache misses or the kernel (syscalls, the TCP stack), so it
// complements the wrk figures and does not replace them. Loopback only; bounded request counts.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';

const WARMUP = 6000;
const MEASURED = 4000;
const CONCURRENCY = 16;
/** the request headers wrk sends (bench/wrk/common.lua) */
const HEADERS = { host: 'api.local', 'user-agent': 'portcullis-bench/1.0 (wrk)', accept: 'application/json' };

export const haveValgrind = () => !spawnSync('valgrind', ['--version']).error && !spawnSync('callgrind_control', ['-h']).error;

/** `n` requests over `CONCURRENCY` keep-alive connections; throws on a non-2xx answer. */
async function load(port, wl, n, body) {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY, pipelining: 1 });
  let left = n;
  const worker = async () => {
    while (left-- > 0) {
      const r = await pool.request({ path: wl.path, method: wl.method, body, headers: body ? { ...HEADERS, 'content-type': 'application/json' } : HEADERS });
      await r.body.dump();
      if (r.statusCode >= 300) throw new Error(`${wl.method} ${wl.path}: status ${r.statusCode}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    await pool.close();
  }
}

/** Instruction totals of the dump `part`, per thread (thread 1 is the main thread). */
function dumpTotals(dir, part) {
  const out = {};
  for (const f of readdirSync(dir)) {
    const m = new RegExp(`^cg\\.out\\.${part}-(\\d+)$`).exec(f);
    if (!m) continue;
    const text = readFileSync(join(dir, f), 'utf8');
    const t = /^(?:totals|summary):\s+(\d+)/m.exec(text);
    if (t) out[Number(m[1])] = Number(t[1]);
  }
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs one target under callgrind; per-request instructions of the main thread and of all threads. */
async function measure(name, argv, env, port, wl, dir, waitPort) {
  mkdirSync(dir, { recursive: true });
  const child = spawn('valgrind', ['--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${join(dir, 'cg.out')}`, process.execPath, ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  const exited = new Promise((r) => child.on('exit', r));
  try {
    await waitPort(port, 180_000);
    const body = wl.body ? readFileSync(wl.body) : null;
    await load(port, wl, WARMUP, body);
    spawnSync('callgrind_control', ['-z', String(child.pid)]);
    await load(port, wl, MEASURED, body);
    spawnSync('callgrind_control', ['-d', String(child.pid)]);
    let totals = {};
    for (let i = 0; i < 100 && Object.keys(totals).length === 0; i++) {
      await sleep(100);
      totals = dumpTotals(dir, 1);
    }
    const all = Object.values(totals).reduce((a, b) => a + b, 0);
    if (!all) throw new Error(`${name}: no callgrind dump\n${err}`);
    return { main: (totals[1] ?? 0) / MEASURED, all: all / MEASURED };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
  }
}

/** The scenario: Node limit and Portcullis, GET and POST, measured side by side (the counts do not depend on load). */
export async function instructionsScenario(env) {
  if (!haveValgrind()) return 'Not measured: valgrind is not installed (Debian: `apt-get install valgrind`).';
  const rows = [];
  const workloads = [
    { name: 'get', method: 'GET', path: '/api/items/42' },
    { name: 'post', method: 'POST', path: '/api/items', body: join(env.HERE, 'wrk', 'body-1k.json') },
  ];
  for (const wl of workloads) {
    const limitPort = await env.freePort();
    const conf = readFileSync(join(env.HERE, 'configs', 'core.yaml'), 'utf8');
    const gateway = async (name, root) => {
      const port = await env.freePort();
      const vars = { PORT: port, UPSTREAM_PORT: env.upstreamPort, ADMIN_PORT: await env.freePort(), WORK: env.work, LOG: 'true' };
      const file = join(env.work, `instr-${name}-${wl.name}.yaml`);
      writeFileSync(file, conf.replace(/\{\{(\w+)\}\}/g, (_m, k) => String(vars[k])));
      return measure(name, [join(root, 'bin', 'portcullis.js'), 'start', '-c', file], {}, port, wl, join(env.work, `cg-${name}-${wl.name}`), env.waitPort);
    };
    const [limit, ...gws] = await Promise.all([
      measure('node-limit', [join(env.HERE, 'node-limit-proxy.mjs')], { PORT: String(limitPort), UPSTREAM: `http://127.0.0.1:${env.upstreamPort}` }, limitPort, wl, join(env.work, `cg-limit-${wl.name}`), env.waitPort),
      gateway('portcullis', env.ROOT),
      // A/B while working: BENCH_ALT_ROOT=<another checkout, built>
      ...(process.env.BENCH_ALT_ROOT ? [gateway('portcullis-alt', process.env.BENCH_ALT_ROOT)] : []),
    ]);
    const k = (x) => Math.round(x).toLocaleString('en-US');
    rows.push(`| ${wl.name} | node-limit | ${k(limit.main)} | ${k(limit.all)} | 1.00 | 1.00 |`);
    gws.forEach((gw, i) => rows.push(`| ${wl.name} | ${i === 0 ? 'portcullis' : 'portcullis-alt'} | ${k(gw.main)} | ${k(gw.all)} | ${(gw.main / limit.main).toFixed(2)} | ${(gw.all / limit.all).toFixed(2)} |`));
  }
  return [
    `| workload | target | instructions / request, main thread | all threads | main-thread ratio | all-threads ratio |`,
    '|---|---|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}
