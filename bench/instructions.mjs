// Instructions per proxied request, counted by valgrind's callgrind: Portcullis (core.yaml, access
// log on) against the Node limit. Unlike req/s and CPU time, an instruction count hardly moves
// with other load on a shared machine, so it shows a change of a few percent that wrk's figures
// hide in noise. It does not see cache misses or the kernel (syscalls, the TCP stack), so it
// complements the wrk figures and does not replace them. Loopback only; bounded request counts.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, waitPort } from './net.mjs';
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

/** callgrind's options for a count per instruction address, and node's for a map of its JIT code (see byFunction) */
const BY_FUNCTION_VALGRIND = ['--dump-instr=yes', '--dump-line=no', '--compress-pos=no', '--compress-strings=no'];
const BY_FUNCTION_NODE = ['--perf-basic-prof'];

/**
 * Runs one target under callgrind; per-request instructions of the main thread and of all threads.
 * With `byFunction`, also the main thread's instructions per request by function (see byFunction).
 */
async function measure(name, argv, env, port, wl, dir, waitPort, { byFunction: perFunction = false, d1Misses = false } = {}) {
  mkdirSync(dir, { recursive: true });
  const vg = [
    '--tool=callgrind',
    '--separate-threads=yes',
    ...(perFunction ? BY_FUNCTION_VALGRIND : []),
    ...(d1Misses ? ['--cache-sim=yes'] : []),
    `--callgrind-out-file=${join(dir, 'cg.out')}`,
  ];
  const child = spawn('valgrind', [...vg, process.execPath, ...(perFunction ? BY_FUNCTION_NODE : []), ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  const exited = new Promise((r) => child.on('exit', r));
  try {
    await waitPort(port, d1Misses ? 600_000 : 180_000);
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
    const functions = perFunction
      ? byFunction(
          readdirSync(dir)
            .map((f) => join(dir, f))
            .find((f) => /cg\.out\.1-01$/.test(f)),
          `/tmp/perf-${child.pid}.map`,
          d1Misses,
        )
      : null;
    return { main: (totals[1] ?? 0) / MEASURED, all: all / MEASURED, functions };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
  }
}

/**
 * Instructions per request by function, from a callgrind dump made with BY_FUNCTION_VALGRIND: the
 * self cost of each instruction address, given to the native function callgrind names or, for
 * code V8 generated (which callgrind cannot name), to the JS function that node's
 * --perf-basic-prof map places at that address. Calls' inclusive costs are skipped.
 */
function byFunction(dump, mapFile, d1Misses = false) {
  const ranges = [];
  for (const l of readFileSync(mapFile, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(l);
    if (m) ranges.push([parseInt(m[1], 16), parseInt(m[1], 16) + parseInt(m[2], 16), m[3], ranges.length]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const jsAt = (addr) => {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (ranges[mid][0] <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    // code is freed and its addresses reused: of the entries that cover the address, the one
    // written last to the map (the newest code)
    let best = null;
    for (let i = hi; i >= 0 && i > hi - 256; i--)
      if (ranges[i][0] <= addr && addr < ranges[i][1] && (best === null || ranges[i][3] > best[3])) best = ranges[i];
    return best === null ? null : best[2];
  };
  const out = new Map();
  let fn = '?';
  let afterCalls = false;
  for (const l of readFileSync(dump, 'utf8').split('\n')) {
    if (l.startsWith('fn=')) fn = l.slice(3);
    else if (l.startsWith('calls=')) afterCalls = true;
    else {
      const m = /^(0x[0-9a-f]+|\d+) ([\d ]+)$/.exec(l);
      if (!m) continue;
      // events: Ir, or with --cache-sim Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw (trailing zeros left out)
      const ev = m[2].split(' ');
      const cost = d1Misses ? Number(ev[4] ?? 0) + Number(ev[5] ?? 0) : Number(ev[0]);
      if (afterCalls) {
        afterCalls = false; // the inclusive cost of a call: counted in the callee
        continue;
      }
      const name = /^0x[0-9a-f]+/.test(fn) || fn.startsWith('???') ? (jsAt(parseInt(m[1], 16)) ?? 'JIT code (unmapped)') : fn;
      const key = name.replace(/ (file:\/\/)?\/[^ ]*\/(node_modules|dist|bench)\//, ' $2/').replace(/:\d+:\d+$/, '');
      out.set(key, (out.get(key) ?? 0) + cost / MEASURED);
    }
  }
  return out;
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
      writeFileSync(
        file,
        conf.replace(/\{\{(\w+)\}\}/g, (_m, k) => String(vars[k])),
      );
      return measure(name, [join(root, 'bin', 'portcullis.js'), 'start', '-c', file], {}, port, wl, join(env.work, `cg-${name}-${wl.name}`), env.waitPort);
    };
    const [limit, ...gws] = await Promise.all([
      measure(
        'node-limit',
        [join(env.HERE, 'node-limit-proxy.mjs')],
        { PORT: String(limitPort), UPSTREAM: `http://127.0.0.1:${env.upstreamPort}` },
        limitPort,
        wl,
        join(env.work, `cg-limit-${wl.name}`),
        env.waitPort,
      ),
      gateway('portcullis', env.ROOT),
      // A/B while working: BENCH_ALT_ROOT=<another checkout, built>
      ...(process.env.BENCH_ALT_ROOT ? [gateway('portcullis-alt', process.env.BENCH_ALT_ROOT)] : []),
    ]);
    const k = (x) => Math.round(x).toLocaleString('en-US');
    rows.push(`| ${wl.name} | node-limit | ${k(limit.main)} | ${k(limit.all)} | 1.00 | 1.00 |`);
    for (const [i, gw] of gws.entries())
      rows.push(
        `| ${wl.name} | ${i === 0 ? 'portcullis' : 'portcullis-alt'} | ${k(gw.main)} | ${k(gw.all)} | ${(gw.main / limit.main).toFixed(2)} | ${(gw.all / limit.all).toFixed(2)} |`,
      );
  }
  return [
    `| workload | target | instructions / request, main thread | all threads | main-thread ratio | all-threads ratio |`,
    '|---|---|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

/**
 * `node bench/instructions.mjs --by-function [get|post] [rows] [--d1-misses] [--config NAME.yaml]`:
 * where Portcullis's instructions per request differ from the Node limit's, by function (main
 * thread, GET by default). `--config` measures another of bench/configs (its `{{WAF}}`-style
 * placeholders set to enforce/on); with BENCH_ALT_ROOT=<another built checkout>, that build is the
 * baseline instead of the Node limit (an A/B of two builds on the same config).
 * With --d1-misses, L1 data-cache misses (reads and writes, callgrind's cache simulation) instead
 * of instructions: data that a request touches and that other work evicted in between (config,
 * tables, objects made earlier in the exchange) costs cycles that an instruction count does not
 * show. For work on the request path; not part of `npm run bench`.
 */
async function main() {
  const d1Misses = process.argv.includes('--d1-misses');
  const ci = process.argv.indexOf('--config');
  const configName = ci > 0 ? process.argv[ci + 1] : 'core.yaml';
  const positional = process.argv.slice(3).filter((a, i, all) => a !== '--d1-misses' && a !== '--config' && all[i - 1] !== '--config');
  const [wlName = 'get', rows = '40'] = positional;
  const alt = process.env.BENCH_ALT_ROOT;
  if (!haveValgrind()) throw new Error('valgrind is required (apt-get install valgrind)');
  const here = dirname(fileURLToPath(import.meta.url));
  const work = mkdtempSync(join(tmpdir(), 'portcullis-instr-'));
  const wl = wlName === 'post' ? { method: 'POST', path: '/api/items', body: join(here, 'wrk', 'body-1k.json') } : { method: 'GET', path: '/api/items/42' };
  const upstreamPort = await freePort();
  const upstream = spawn(process.execPath, [join(here, 'upstream.mjs')], { env: { ...process.env, PORT: String(upstreamPort) }, stdio: 'ignore' });
  try {
    await waitPort(upstreamPort);
    const [limitPort, port, adminPort] = [await freePort(), await freePort(), await freePort()];
    // placeholders of the other configs: the security feature on
    const vars = {
      PORT: port,
      UPSTREAM_PORT: upstreamPort,
      ADMIN_PORT: adminPort,
      WORK: work,
      LOG: 'true',
      WAF: 'enforce',
      VALIDATE: 'enforce',
      LIMIT: 'off',
      STATE: '{ store: memory }',
      AUTH: 'none',
    };
    const text = readFileSync(join(here, 'configs', configName), 'utf8');
    const fill = (p, a) => text.replace(/\{\{(\w+)\}\}/g, (_m, k) => String(k === 'PORT' ? p : k === 'ADMIN_PORT' ? a : vars[k]));
    const conf = join(work, 'portcullis.yaml');
    writeFileSync(conf, fill(port, adminPort));
    const opts = { byFunction: true, d1Misses };
    let base;
    if (alt) {
      const altConf = join(work, 'alt.yaml');
      writeFileSync(altConf, fill(limitPort, await freePort()));
      base = [
        'portcullis-alt',
        () => measure('portcullis-alt', [join(alt, 'bin', 'portcullis.js'), 'start', '-c', altConf], {}, limitPort, wl, join(work, 'alt'), waitPort, opts),
      ];
    } else {
      base = [
        'node-limit',
        () =>
          measure(
            'node-limit',
            [join(here, 'node-limit-proxy.mjs')],
            { PORT: String(limitPort), UPSTREAM: `http://127.0.0.1:${upstreamPort}` },
            limitPort,
            wl,
            join(work, 'limit'),
            waitPort,
            opts,
          ),
      ];
    }
    const [limit, gw] = await Promise.all([
      base[1](),
      measure('portcullis', [join(here, '..', 'bin', 'portcullis.js'), 'start', '-c', conf], {}, port, wl, join(work, 'portcullis'), waitPort, opts),
    ]);
    const k = (x) => Math.round(x).toLocaleString('en-US');
    console.log(
      `${wlName.toUpperCase()} (${configName}), main thread, instructions per request: ${base[0]} ${k(limit.main)}, portcullis ${k(gw.main)} (${(gw.main / limit.main).toFixed(3)}x)\n`,
    );
    if (d1Misses) {
      const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);
      console.log(
        `L1 data-cache misses per request, main thread: node-limit ${k(sum(limit.functions))}, portcullis ${k(sum(gw.functions))} (${(sum(gw.functions) / sum(limit.functions)).toFixed(3)}x)\n`,
      );
    }
    console.log(`| difference | ${base[0]} | portcullis | function |\n|---:|---:|---:|---|`);
    const names = new Set([...limit.functions.keys(), ...gw.functions.keys()]);
    const diff = [...names]
      .map((n) => [n, limit.functions.get(n) ?? 0, gw.functions.get(n) ?? 0])
      .sort((a, b) => Math.abs(b[2] - b[1]) - Math.abs(a[2] - a[1]));
    for (const [n, a, b] of diff.slice(0, Number(rows))) console.log(`| ${k(b - a)} | ${k(a)} | ${k(b)} | ${n.slice(0, 140).replace(/\|/g, '\\|')} |`);
  } finally {
    upstream.kill('SIGTERM');
  }
}

if (process.argv[2] === '--by-function' && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
