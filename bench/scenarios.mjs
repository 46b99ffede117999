// Benchmark scenarios: each names its targets (processes started for the run), workloads, the
// baseline its ratios are computed against, and the checks an issue asks for.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { instructionsScenario } from './instructions.mjs';
import { ratelimitClusterScenario } from './ratelimit-cluster.mjs';

const GET = { name: 'get', script: 'get.lua', path: '/api/items/42' };
const POST = { name: 'post', script: 'post.lua', path: '/api/items' };
const CATALOG = { name: 'get-1k', script: 'get.lua', path: '/api/catalog/7' };
const CATALOG_MISS = { name: 'get-1k-miss', script: 'get-unique.lua', path: '/api/catalog' };

/** Starts `node bin/portcullis.js start -c <config>` on CPU 0 with placeholders filled. */
export function gateway(configFile, vars = {}, root) {
  return async (env) => {
    let text = readFileSync(join(env.HERE, 'configs', configFile), 'utf8');
    const all = { PORT: env.port, UPSTREAM_PORT: env.upstreamPort, ADMIN_PORT: await env.freePort(), WORK: env.work, ROOT: env.ROOT, ...vars };
    text = text.replace(/\{\{(\w+)\}\}/g, (_m, k) => String(all[k]));
    const file = join(env.work, `${env.port}-${configFile}`);
    writeFileSync(file, text);
    const proc = env.startProc(0, process.execPath, [join(root ?? env.ROOT, 'bin', 'portcullis.js'), 'start', '-c', file]);
    return { proc };
  };
}

const nodeLimit = async (env) => ({
  proc: env.startProc(0, process.execPath, [join(env.HERE, 'node-limit-proxy.mjs')], {
    PORT: String(env.port),
    UPSTREAM: `http://127.0.0.1:${env.upstreamPort}`,
  }),
});

/** The OTLP/HTTP receiver of the tracing scenario (bench/otlp-sink.mjs), started once on CPU 1. */
let otlpPort = null;
async function otlpSink(env) {
  if (otlpPort !== null) return otlpPort;
  const port = await env.freePort();
  env.startProc(1, process.execPath, [join(env.HERE, 'otlp-sink.mjs')], { PORT: String(port) });
  await env.waitPort(port);
  return (otlpPort = port);
}
const otlpStats = async () => (await fetch(`http://127.0.0.1:${otlpPort}/stats`)).json();

/** A target of the tracing scenario: the full pipeline, tracing on (100%) or off, with a dev token. */
const tracingTarget =
  (on, protocol = 'http/protobuf') =>
  async (env) => {
    const started = await gateway('tracing.yaml', { TRACING: on, PROTOCOL: protocol, OTLP_PORT: await otlpSink(env) })(env);
    const token = execFileSync(process.execPath, [join(env.ROOT, 'bin', 'portcullis.js'), 'token', '--dev', '--ttl', '3600'], { encoding: 'utf8' }).trim();
    return { ...started, headers: { Authorization: `Bearer ${token}` } };
  };

const MODSEC_MODULE = '/usr/lib/nginx/modules/ngx_http_modsecurity_module.so';
/** nginx + ModSecurity + OWASP CRS from Debian's packages, when installed (bench/nginx says how it is set up). */
export const haveModsec = () => existsSync('/usr/sbin/nginx') && existsSync(MODSEC_MODULE) && existsSync('/usr/share/modsecurity-crs/rules');

const nginxModsec = async (env) => {
  const prefix = join(env.work, `nginx-modsec-${env.port}`);
  for (const d of ['logs', 'modsec-tmp', 'tmp']) mkdirSync(join(prefix, d), { recursive: true });
  const fill = (name) =>
    readFileSync(join(env.HERE, 'nginx', name), 'utf8')
      .replaceAll('@PREFIX@', prefix)
      .replaceAll('@LISTEN@', `127.0.0.1:${env.port}`)
      .replaceAll('@UPSTREAM@', `127.0.0.1:${env.upstreamPort}`);
  writeFileSync(join(prefix, 'modsec-main.conf'), fill('modsec-main.conf.tmpl'));
  writeFileSync(join(prefix, 'nginx.conf'), fill('nginx.conf.tmpl'));
  return { proc: env.startProc(0, '/usr/sbin/nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')]) };
};

/**
 * fast-gateway, the anchor rig's Node peer with no security at all (../shared/bench/fast-gateway-proxy.mjs,
 * one route /api -> the upstream), installed once from the rig's lockfile into its peers folder
 * (PEERS_DIR, default /tmp/anchor-bench/peers, as ../shared/bench/setup.sh does).
 */
const ANCHOR_BENCH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'bench');
const fastGateway = async (env) => {
  const peers = process.env.PEERS_DIR || '/tmp/anchor-bench/peers';
  if (!existsSync(join(peers, 'node_modules', 'fast-gateway'))) {
    mkdirSync(peers, { recursive: true });
    for (const f of ['package.json', 'package-lock.json']) writeFileSync(join(peers, f), readFileSync(join(ANCHOR_BENCH, 'peers', f)));
    console.error(`installing the anchor rig's Node peers into ${peers} (npm ci)`);
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: peers, stdio: 'ignore', timeout: 300_000 });
  }
  return {
    proc: env.startProc(0, process.execPath, [join(ANCHOR_BENCH, 'fast-gateway-proxy.mjs')], {
      PORT: String(env.port),
      UPSTREAM: `http://127.0.0.1:${env.upstreamPort}`,
      PEERS_DIR: peers,
    }),
  };
};

/**
 * The Redis server of the rate-limit scenario: started for the run on CPU 1, next to wrk and the
 * upstream, so that it does not take CPU 0 from the gateway under test (the machine's own Redis
 * may run on either CPU). Falls back to 127.0.0.1:6379 when redis-server is not installed.
 */
let benchRedis = null;
async function redisPort(env) {
  if (benchRedis) return benchRedis;
  const port = await env.freePort();
  try {
    execFileSync('redis-server', ['--version']);
  } catch {
    return (benchRedis = 6379);
  }
  env.startProc(1, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  await env.waitPort(port);
  return (benchRedis = port);
}

/**
 * Issue 20: the gateway's RSS while 100,000 distinct URLs of ~1 KB responses fill its memory cache
 * (64 MiB, the default): the peak must stay within the baseline plus the cap plus 25% of the cap.
 */
async function cacheMemory(env) {
  const { Pool } = await import('undici');
  const N = 100_000;
  const CAP = 64 * 1024 * 1024;
  const mb = (b) => (b / 1048576).toFixed(1);
  /** One gateway (the route cached or not) under the load; its RSS read from /proc every 5,000 requests. */
  const measure = async (cache) => {
    const port = await env.freePort();
    const vars = { PORT: port, UPSTREAM_PORT: env.upstreamPort, ADMIN_PORT: await env.freePort(), WORK: env.work, CACHE: cache };
    const text = readFileSync(join(env.HERE, 'configs', 'cache.yaml'), 'utf8').replace(/\{\{(\w+)\}\}/g, (_m, k) => String(vars[k]));
    const file = join(env.work, `${port}-cache-memory.yaml`);
    writeFileSync(file, text);
    const proc = env.startProc(0, process.execPath, [join(env.ROOT, 'bin', 'portcullis.js'), 'start', '-c', file]);
    await env.waitPort(port, 60_000);
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))[1]) * 1024;
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32 });
    const send = async (from, to, path) => {
      let next = from;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          for (let i = next++; i < to; i = next++) {
            const r = await pool.request({ method: 'GET', path: path(i), headers: { host: 'api.local' } });
            await r.body.dump();
            if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
          }
        }),
      );
    };
    try {
      await send(0, 4000, (i) => `/api/catalog/warm-${i % 50}`); // warm: JIT, pools, a few entries
      await new Promise((r) => setTimeout(r, 1000));
      const start = rss();
      let peak = start;
      for (let from = 0; from < N; from += 5000) {
        await send(from, from + 5000, (i) => `/api/catalog/${i}`);
        peak = Math.max(peak, rss());
      }
      const metrics = await (await fetch(`http://127.0.0.1:${vars.ADMIN_PORT}/metrics`)).text();
      const metric = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN);
      return {
        start,
        peak,
        bytes: metric('portcullis_cache_bytes'),
        entries: metric('portcullis_cache_entries'),
        evictions: metric('portcullis_cache_evictions_total'),
      };
    } finally {
      await pool.close();
      proc.kill('SIGTERM');
    }
  };
  const off = await measure('off');
  const on = await measure('on');
  const limit = off.peak + CAP * 1.25;
  return [
    `100,000 GETs of distinct URLs (~1 KB JSON each, \`Cache-Control: public, max-age=600\`), 32 at a time, through the same route uncached (the process's baseline under this load) and cached in memory with the default 64 MiB cap; each gateway's RSS read from /proc every 5,000 requests.`,
    '',
    '| cache memory under 100,000 distinct keys | uncached | cached |',
    '|---|---:|---:|',
    `| RSS after warm-up | ${mb(off.start)} MB | ${mb(on.start)} MB |`,
    `| RSS peak | ${mb(off.peak)} MB | ${mb(on.peak)} MB |`,
    `| bytes counted by the store / entries (portcullis_cache_bytes, _entries) | | ${mb(on.bytes)} MB / ${on.entries.toLocaleString('en-US')} |`,
    `| evictions (portcullis_cache_evictions_total) | | ${on.evictions.toLocaleString('en-US')} |`,
    `| check: cached peak ≤ uncached peak + 1.25 × cap (${mb(limit)} MB) | | ${on.peak <= limit ? 'pass' : 'FAIL'} (${mb(on.peak - off.peak)} MB over the baseline) |`,
  ].join('\n');
}

const direct = async (env) => ({ proc: env.startProc(0, process.execPath, [join(env.HERE, 'upstream.mjs')], { PORT: String(env.port) }) });

/** Issue 5: RSS growth of the memory store under 1,000,000 distinct client IPs (must stay under 100 MB). */
function memoryFlood() {
  const out = execFileSync(process.execPath, ['--expose-gc', join(import.meta.dirname, 'memory-flood.mjs')], { encoding: 'utf8' }).trim();
  const r = JSON.parse(out);
  return [
    '| memory store under 1,000,000 distinct client IPs (`node --expose-gc bench/memory-flood.mjs`) | value |',
    '|---|---:|',
    `| entries kept (cap) | ${r.entries.toLocaleString('en-US')} (${r.cap.toLocaleString('en-US')}) |`,
    `| RSS growth at the end / peak | ${r.rss_growth_mb} MB / ${r.peak_rss_growth_mb} MB |`,
    `| check: peak RSS growth < 100 MB | ${r.peak_rss_growth_mb < 100 ? 'pass' : 'FAIL'} |`,
  ].join('\n');
}

/** Whether load generators can be pinned to CPU 1 (taskset is installed and CPU 1 exists). */
function hasTaskset() {
  try {
    execFileSync('taskset', ['-c', '1', 'true']);
    return true;
  } catch {
    return false;
  }
}

/**
 * HTTP/2 (issue 22): GET over h2c through the gateway (core routes, no security stages, access log
 * on) and through the minimal node:http2 + undici proxy, loaded in turn by bench/h2-load.mjs (wrk
 * speaks HTTP/1.1 only, h2load is not installed) on CPU 1, the servers on CPU 0.
 */
async function h2Scenario(env) {
  const rounds = Number(process.env.BENCH_H2_ROUNDS || 5);
  const durationMs = Number(process.env.BENCH_H2_DURATION_MS || 5000);
  const proxyPort = await env.freePort();
  const gwPort = await env.freePort();
  env.startProc(0, process.execPath, [join(env.HERE, 'node-h2-proxy.mjs')], { PORT: String(proxyPort), UPSTREAM: `http://127.0.0.1:${env.upstreamPort}` });
  await gateway('core-h2.yaml', { LOG: 'true' })({ ...env, port: gwPort });
  await env.waitPort(proxyPort);
  await env.waitPort(gwPort, 60_000);
  const load = (port) => {
    const argv = [join(env.HERE, 'h2-load.mjs')];
    const useTaskset = hasTaskset();
    const out = execFileSync(useTaskset ? 'taskset' : process.execPath, useTaskset ? ['-c', '1', process.execPath, ...argv] : argv, {
      env: { ...process.env, PORT: String(port), SESSIONS: '8', STREAMS: '8', DURATION_MS: String(durationMs), WARMUP_MS: '1000' },
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').at(-1));
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`h2 load on ${port}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    return r;
  };
  const runs = { limit: [], gw: [] };
  for (let i = 0; i < rounds; i++) {
    // alternate the order, so that neither always runs on a warmer or quieter machine
    for (const t of i % 2 === 0 ? ['limit', 'gw'] : ['gw', 'limit']) runs[t].push(load(t === 'limit' ? proxyPort : gwPort));
    console.error(`h2 round ${i + 1}: node-h2 ${runs.limit.at(-1).rps.toFixed(0)} req/s, portcullis ${runs.gw.at(-1).rps.toFixed(0)} req/s`);
  }
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const rps = { limit: med(runs.limit.map((r) => r.rps)), gw: med(runs.gw.map((r) => r.rps)) };
  const p99 = { limit: med(runs.limit.map((r) => r.p99_ms)), gw: med(runs.gw.map((r) => r.p99_ms)) };
  const ratio = rps.gw / rps.limit;
  return [
    `${rounds} rounds of ${durationMs / 1000} s per target, in turn; 8 h2c connections x 8 streams in flight; medians.`,
    '',
    '| target | requests/s | p99 latency (ms) | ratio to node-h2 |',
    '|---|---:|---:|---:|',
    `| node-h2 (bench/node-h2-proxy.mjs) | ${rps.limit.toFixed(0)} | ${p99.limit.toFixed(2)} | 1.00 |`,
    `| portcullis (core-h2.yaml) | ${rps.gw.toFixed(0)} | ${p99.gw.toFixed(2)} | ${ratio.toFixed(2)} |`,
    `| check: portcullis >= 0.8x node-h2 requests/s | ${ratio >= 0.8 ? 'pass' : 'FAIL'} | | |`,
  ].join('\n');
}

/**
 * HTTP/2 floods (issue 22): the latency of a well-behaved h2c client (bench/h2-load.mjs, 1
 * connection x 4 streams) through the gateway (core-h2.yaml: flood budgets at their defaults, no
 * abuse stage, so no ban helps) without a flood, then while Rapid Reset attackers
 * (bench/h2-flood-attack.mjs, from 127.0.0.2, reconnecting after each GOAWAY, bounded in time and
 * connections) flood it on other connections. Rounds alternate the two; medians.
 */
async function h2FloodScenario(env) {
  const rounds = Number(process.env.BENCH_H2_FLOOD_ROUNDS || 3);
  const durationMs = Number(process.env.BENCH_H2_DURATION_MS || 5000);
  const gwPort = await env.freePort();
  await gateway('core-h2.yaml', { LOG: 'true' })({ ...env, port: gwPort });
  await env.waitPort(gwPort, 60_000);
  const taskset = hasTaskset();
  const node = (script, vars) => {
    const argv = [join(env.HERE, script)];
    const cmd = taskset ? 'taskset' : process.execPath;
    const args = taskset ? ['-c', '1', process.execPath, ...argv] : argv;
    return { cmd, args, env: { ...process.env, PORT: String(gwPort), ...vars } };
  };
  const LOAD = { SESSIONS: '1', STREAMS: '4', DURATION_MS: String(durationMs), WARMUP_MS: '1000' };
  const parse = (out) => JSON.parse(out.trim().split('\n').at(-1));
  const quiet = () => {
    const c = node('h2-load.mjs', LOAD);
    const r = parse(execFileSync(c.cmd, c.args, { env: c.env, encoding: 'utf8' }));
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`h2-flood: ${r.non2xx} non-2xx, ${r.errors} errors without a flood`);
    return r;
  };
  const flooded = async () => {
    const { spawn } = await import('node:child_process');
    const run = (c) =>
      new Promise((resolve, reject) => {
        const p = spawn(c.cmd, c.args, { env: c.env, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        p.stdout.on('data', (d) => (out += d));
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve(parse(out)) : reject(new Error(`${c.args.join(' ')} exited ${code}`))));
      });
    // the attackers start first and outlast the measured window (warm-up included)
    const attack = run(node('h2-flood-attack.mjs', { SOURCE: '127.0.0.2', ATTACKERS: '4', DURATION_MS: String(durationMs + 1500), MAX_CONNECTIONS: '5000' }));
    await new Promise((r) => setTimeout(r, 250));
    const [load, att] = await Promise.all([run(node('h2-load.mjs', LOAD)), attack]);
    if (load.non2xx > 0 || load.errors > 0) throw new Error(`h2-flood: ${load.non2xx} non-2xx, ${load.errors} errors during the flood`);
    return { load, att };
  };
  const runs = { quiet: [], flood: [], att: [] };
  for (let i = 0; i < rounds; i++) {
    for (const t of i % 2 === 0 ? ['quiet', 'flood'] : ['flood', 'quiet']) {
      if (t === 'quiet') runs.quiet.push(quiet());
      else {
        const f = await flooded();
        runs.flood.push(f.load);
        runs.att.push(f.att);
      }
    }
    const a = runs.att.at(-1);
    console.error(
      `h2-flood round ${i + 1}: p99 ${runs.quiet.at(-1).p99_ms.toFixed(2)} ms quiet, ${runs.flood.at(-1).p99_ms.toFixed(2)} ms flooded; attackers ${a.connections} connections, GOAWAY ${JSON.stringify(a.goaways)}, ${a.streams} streams sent, GOAWAY after ${a.to_goaway_p50_ms?.toFixed(1)} ms (median) / ${a.to_goaway_max_ms?.toFixed(1)} ms (max)`,
    );
  }
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const q = { p99: med(runs.quiet.map((r) => r.p99_ms)), p50: med(runs.quiet.map((r) => r.p50_ms)), rps: med(runs.quiet.map((r) => r.rps)) };
  const f = { p99: med(runs.flood.map((r) => r.p99_ms)), p50: med(runs.flood.map((r) => r.p50_ms)), rps: med(runs.flood.map((r) => r.rps)) };
  const ratio = f.p99 / q.p99;
  const perRound = runs.flood.map((r, i) => (r.p99_ms / runs.quiet[i].p99_ms).toFixed(2)).join(', ');
  const att = runs.att;
  const goaways = {};
  for (const a of att) for (const [k, v] of Object.entries(a.goaways)) goaways[k] = (goaways[k] ?? 0) + v;
  return [
    `${rounds} rounds of ${durationMs / 1000} s, quiet and flooded in turn; well-behaved client: 1 h2c connection x 4 streams in flight (bench/h2-load.mjs); attackers: 4 Rapid Reset connections at a time from 127.0.0.2, reconnecting after each GOAWAY (bench/h2-flood-attack.mjs), both on CPU 1, the gateway on CPU 0; medians.`,
    '',
    '| well-behaved client | requests/s | p50 (ms) | p99 (ms) |',
    '|---|---:|---:|---:|',
    `| without flood | ${q.rps.toFixed(0)} | ${q.p50.toFixed(2)} | ${q.p99.toFixed(2)} |`,
    `| during the flood | ${f.rps.toFixed(0)} | ${f.p50.toFixed(2)} | ${f.p99.toFixed(2)} |`,
    `| p99 ratio (per round: ${perRound}) | | | ${ratio.toFixed(2)} |`,
    `| check: p99 during the flood <= 2x without | ${ratio <= 2 ? 'pass' : 'FAIL'} | | |`,
    '',
    `Attackers per flooded round (median): ${med(att.map((a) => a.connections))} connections, ${med(att.map((a) => a.streams))} streams sent; GOAWAY codes over all rounds ${JSON.stringify(goaways)} (11: ENHANCE_YOUR_CALM); connections closed without GOAWAY ${att.reduce((n, a) => n + a.unanswered, 0)}; time from a connection's first frame to its GOAWAY: median ${med(att.map((a) => a.to_goaway_p50_ms ?? 0)).toFixed(1)} ms, largest ${Math.max(...att.map((a) => a.to_goaway_max_ms ?? 0)).toFixed(1)} ms.`,
  ].join('\n');
}

export const SCENARIOS = {
  core: {
    title: 'Core proxy (issue 2): Portcullis with no security stages vs the Node limit',
    description:
      'GET of a 235-byte JSON and POST of a 1 KB JSON through (a) the bare upstream (a second instance, hit directly), (b) the minimal node:http + undici `Pool.stream` proxy (bench/node-limit-proxy.mjs), (c) Portcullis with the quickstart-like routes, no security stages, access log on (to a file); for information, (d) the same with the access log off.',
    baseline: 'node-limit',
    targets: [
      { name: 'direct', start: direct },
      { name: 'node-limit', start: nodeLimit },
      { name: 'portcullis', start: gateway('core.yaml', { LOG: 'true' }) },
      // not a check: what the access log costs (the figure the issue asks for is the row above)
      { name: 'portcullis-no-access-log', start: gateway('core.yaml', { LOG: 'false' }) },
      // A/B while working: BENCH_ALT_ROOT=<another checkout, built> adds that build as a target
      ...(process.env.BENCH_ALT_ROOT ? [{ name: 'portcullis-alt', start: gateway('core.yaml', { LOG: 'true' }, process.env.BENCH_ALT_ROOT) }] : []),
    ],
    workloads: [GET, POST],
    checks: [
      { workload: 'get', target: 'portcullis', minRatio: 0.9, maxP99Ratio: 1.5 },
      { workload: 'post', target: 'portcullis', minRatio: 0.9, maxP99Ratio: 1.5 },
    ],
  },
  instructions: {
    title: 'Core proxy (issue 2): instructions per request under callgrind',
    description:
      "The core proxy rows above, counted instead of timed: the Node limit and Portcullis (core.yaml, access log on) run under valgrind --tool=callgrind, each sent 6,000 warm-up requests then 4,000 measured ones (16 keep-alive connections; bench/instructions.mjs). An instruction count hardly moves with other load on a shared machine, so it shows changes of a few percent that the wrk figures hide in noise; it does not see cache misses or the kernel (syscalls, the TCP stack), so it complements them. The main thread runs the requests; the other threads are V8's compilers and garbage collector. Counts still move by a few percent between runs (how many requests each turn of the event loop serves, when the JIT finishes, whether a major GC falls in the measured window): compare the two targets of one run. `BENCH_ALT_ROOT=<another built checkout>` adds that build as a third target, for A/B comparisons.",
    standalone: instructionsScenario,
  },
  ratelimit: {
    title: 'Rate limiting (issue 5): a rate-limited route vs the same route unlimited',
    description:
      "GET through one route with no limit, with a per-IP token bucket in the memory store, and with the same limit in Redis (a redis-server started for the run on CPU 1, next to wrk and the upstream: like the upstream, it is a service the gateway talks to, not part of it). The limit is high enough never to refuse, so that the cost of deciding is measured. Redis round trips are counted with `INFO commandstats` over the Redis target's requests.",
    baseline: 'unlimited',
    targets: [
      { name: 'unlimited', start: gateway('ratelimit.yaml', { LIMIT: 'off', STATE: '{ store: memory }' }) },
      {
        name: 'limited-memory',
        start: gateway('ratelimit.yaml', { LIMIT: '[{ name: perip, key: [ip], rate: "1000000/s", burst: 1000000 }]', STATE: '{ store: memory }' }),
      },
      // A/B while working: BENCH_ALT_ROOT=<another checkout, built> adds that build's memory-store row
      ...(process.env.BENCH_ALT_ROOT
        ? [
            {
              name: 'limited-memory-alt',
              start: gateway(
                'ratelimit.yaml',
                { LIMIT: '[{ name: perip, key: [ip], rate: "1000000/s", burst: 1000000 }]', STATE: '{ store: memory }' },
                process.env.BENCH_ALT_ROOT,
              ),
            },
          ]
        : []),
      {
        name: 'limited-redis',
        start: async (env) =>
          gateway('ratelimit.yaml', {
            LIMIT: '[{ name: perip, key: [ip], rate: "1000000/s", burst: 1000000 }]',
            STATE: `{ store: redis, redis: { url: "redis://127.0.0.1:${await redisPort(env)}", key_prefix: "pc-bench-${process.pid}:" } }`,
          })(env),
      },
      // and that build's Redis row (same Redis, its own keys)
      ...(process.env.BENCH_ALT_ROOT
        ? [
            {
              name: 'limited-redis-alt',
              start: async (env) =>
                gateway(
                  'ratelimit.yaml',
                  {
                    LIMIT: '[{ name: perip, key: [ip], rate: "1000000/s", burst: 1000000 }]',
                    STATE: `{ store: redis, redis: { url: "redis://127.0.0.1:${await redisPort(env)}", key_prefix: "pc-bench-alt-${process.pid}:" } }`,
                  },
                  process.env.BENCH_ALT_ROOT,
                )(env),
            },
          ]
        : []),
    ],
    workloads: [GET],
    checks: [
      { workload: 'get', target: 'limited-memory', minRatio: 0.9 },
      { workload: 'get', target: 'limited-redis', minRatio: 0.6 },
    ],
    verify: async (env) => {
      execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(await redisPort(env)), 'config', 'resetstat']);
    },
    after: async ({ results, warmups, pairs, together, ...env }) => {
      const info = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(await redisPort(env)), 'info', 'commandstats'], { encoding: 'utf8' });
      const calls = [...info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])]);
      const total = calls.reduce((a, [, n]) => a + n, 0);
      const evalsha = calls.filter(([c]) => c === 'evalsha' || c === 'eval').reduce((a, [, n]) => a + n, 0);
      const reqs =
        (results.get?.['limited-redis'] ?? []).reduce((a, r) => a + r.requests, 0) +
        (pairs.get?.['limited-redis'] ?? []).reduce((a, x) => a + x.t.requests, 0) +
        (together.get?.['limited-redis'] ?? []).reduce((a, x) => a + x.t.requests, 0) +
        (warmups.get?.['limited-redis']?.requests ?? 0);
      return [
        '| Redis (INFO commandstats over the whole scenario) | value |',
        '|---|---:|',
        `| EVALSHA/EVAL calls | ${evalsha.toLocaleString('en-US')} |`,
        `| all commands (incl. connection setup and script loading) | ${total.toLocaleString('en-US')} |`,
        `| requests served by limited-redis (warm-up, rounds, pairs and runs together, as counted by wrk) | ${reqs.toLocaleString('en-US')} |`,
        `| EVALSHA per request | ${reqs ? (evalsha / reqs).toFixed(4) : 'n/a'} |`,
        `| commands per request | ${reqs ? (total / reqs).toFixed(4) : 'n/a'} |`,
        '',
        `Per-command counts: ${calls.map(([c, n]) => `${c}=${n}`).join(', ')} (GET/SET are the Lua script's own calls, counted by Redis inside EVALSHA).`,
        '',
        memoryFlood(),
      ].join('\n');
    },
  },
  'ratelimit-cluster': ratelimitClusterScenario(gateway),
  jwt: {
    title: 'Authentication (issue 3): GET through a JWT-protected route vs the same route without auth',
    description:
      'One ES256 token (from `portcullis token --dev`, valid for an hour) reused by every request, as an API client would; the route without auth is the baseline. WAF, limits and abuse detection off in both.',
    baseline: 'no-auth',
    targets: [
      { name: 'no-auth', start: gateway('jwt.yaml', { AUTH: 'none' }) },
      {
        name: 'jwt-es256',
        start: async (env) => {
          const started = await gateway('jwt.yaml', { AUTH: '{ any_of: [{ jwt: { provider: dev } }] }' })(env);
          const token = execFileSync(process.execPath, [join(env.ROOT, 'bin', 'portcullis.js'), 'token', '--dev', '--ttl', '3600'], {
            encoding: 'utf8',
          }).trim();
          return { ...started, headers: { Authorization: `Bearer ${token}` } };
        },
      },
    ],
    workloads: [GET],
    checks: [{ workload: 'get', target: 'jwt-es256', minRatio: 0.9 }],
    verify: async ({ targets }) => {
      // the protected target must really refuse requests without the token, and accept them with it
      const t = targets.find((x) => x.name === 'jwt-es256');
      const plain = await fetch(`http://127.0.0.1:${t.port}/api/items/1`);
      const authed = await fetch(`http://127.0.0.1:${t.port}/api/items/1`, { headers: t.headers });
      if (plain.status !== 401 || authed.status !== 200) throw new Error(`jwt target: ${plain.status} without token, ${authed.status} with it`);
    },
  },
  tracing: {
    title: 'Tracing (issue 24): the full pipeline with OpenTelemetry tracing at 100% sampling vs tracing off',
    description:
      "The soak's full pipeline (bench/configs/tracing.yaml: ES256 bearer JWT, OpenAPI validation, per-client and per-consumer limits, WAF and abuse detection at their defaults, access and audit logs) on GET /api/items/42, one dev token reused. `tracing-on` records every request (a SERVER span, an intake span, a span per stage and a CLIENT span for the upstream: 9 spans a request) and exports them over OTLP/HTTP protobuf (`tracing-on-json`: JSON) to bench/otlp-sink.mjs (a receiver on CPU 1 that counts and discards); `tracing-off` is the same config with `tracing.enabled: false`.",
    baseline: 'tracing-off',
    targets: [
      { name: 'tracing-off', start: tracingTarget(false) },
      { name: 'tracing-on', start: tracingTarget(true) },
      { name: 'tracing-on-json', start: tracingTarget(true, 'http/json') },
    ],
    workloads: [GET],
    checks: [{ workload: 'get', target: 'tracing-on', minRatio: 0.9 }],
    verify: async ({ targets }) => {
      for (const t of targets) {
        const plain = await fetch(`http://127.0.0.1:${t.port}/api/items/1`);
        const authed = await fetch(`http://127.0.0.1:${t.port}/api/items/1`, { headers: t.headers });
        if (plain.status !== 401 || authed.status !== 200) throw new Error(`${t.name}: ${plain.status} without token, ${authed.status} with it`);
      }
      // each traced target really exports: its 9 spans reach the receiver within the flush interval
      // (after the requests above have been flushed)
      await new Promise((r) => setTimeout(r, 2500));
      for (const name of ['tracing-on', 'tracing-on-json']) {
        const before = await otlpStats();
        const t = targets.find((x) => x.name === name);
        if (t === undefined) continue;
        await (await fetch(`http://127.0.0.1:${t.port}/api/items/2`, { headers: t.headers })).text();
        await new Promise((r) => setTimeout(r, 2500));
        const after = await otlpStats();
        if (after.spans !== before.spans + 9) throw new Error(`${name}: the receiver counted ${after.spans - before.spans} spans for one request, not 9`);
      }
    },
    after: async () => {
      const s = await otlpStats();
      return `The OTLP receiver took ${s.requests.toLocaleString('en-US')} export requests, ${s.spans.toLocaleString('en-US')} spans, ${(s.bytes / 1048576).toFixed(1)} MiB of OTLP protobuf and JSON over the scenario (warm-up, rounds, pairs and runs together); spans dropped by the gateway are in its \`portcullis_tracing_spans_dropped_total\`.`;
    },
  },
  pipeline: {
    title: 'Full pipeline (issue 23): Portcullis with every security stage vs fast-gateway with none',
    description:
      "GET of a 235-byte JSON and POST of a 1 KB JSON (bench/wrk/body-1k.json, valid for the operation) through (a) fast-gateway 3.4.7 as a plain proxy (../shared/bench/fast-gateway-proxy.mjs: one route, no authentication, validation, limits or WAF), the baseline; (b) Portcullis with the full pipeline of the soak (bench/configs/tracing.yaml, tracing off: ES256 bearer JWT of the quickstart's dev provider, OpenAPI validation of path, query and body, per-client and per-consumer rate limits, the WAF and abuse detection at their defaults, access log and audit log to files). Both send every request with the same bearer token.",
    baseline: 'fast-gateway',
    targets: [
      { name: 'fast-gateway', start: fastGateway },
      { name: 'portcullis-full', start: tracingTarget(false) },
    ],
    workloads: [GET, POST],
    checks: [
      { workload: 'get', target: 'portcullis-full', minRatio: 1.0 },
      { workload: 'post', target: 'portcullis-full', minRatio: 1.0 },
    ],
    verify: async ({ targets }) => {
      const t = targets.find((x) => x.name === 'portcullis-full');
      const post = (headers) =>
        fetch(`http://127.0.0.1:${t.port}/api/items`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'wrk', 'body-1k.json')),
        });
      const anon = await post({});
      const authed = await post(t.headers);
      const sqli = await fetch(`http://127.0.0.1:${t.port}/api/items/1?q=${encodeURIComponent("' OR 1=1--")}`, { headers: t.headers });
      if (anon.status !== 401 || authed.status !== 201 || sqli.status !== 403)
        throw new Error(`portcullis-full: POST ${anon.status} without token, ${authed.status} with it; SQL injection ${sqli.status}`);
      const fg = targets.find((x) => x.name === 'fast-gateway');
      const r = await fetch(`http://127.0.0.1:${fg.port}/api/items/1`);
      if (r.status !== 200) throw new Error(`fast-gateway answered ${r.status}`);
    },
  },
  validate: {
    title: 'Validation (issue 4): POST of a 1 KB JSON through a validated operation vs the same route without validation',
    description:
      'The operation comes from an OpenAPI 3.1 document (`bench/configs/validate/openapi.yaml`: object with `additionalProperties: false`, required fields, string patterns, numeric bounds). Baseline: the same generated route with `validate.mode: off`. Safe JSON parsing (depth, keys, duplicates, prototype keys) is part of the validated path.',
    baseline: 'not-validated',
    targets: [
      { name: 'not-validated', start: gateway('validate.yaml', { VALIDATE: 'off', WAF: 'off' }) },
      { name: 'validated', start: gateway('validate.yaml', { VALIDATE: 'enforce', WAF: 'off' }) },
    ],
    workloads: [POST],
    checks: [{ workload: 'post', target: 'validated', minRatio: 0.85 }],
    verify: async ({ targets }) => {
      const t = targets.find((x) => x.name === 'validated');
      const bad = await fetch(`http://127.0.0.1:${t.port}/api/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": 1}' });
      if (bad.status !== 400) throw new Error(`validated target answered ${bad.status} to an invalid body`);
    },
  },
  waf: {
    title: 'WAF (issue 6): POST of a 1 KB JSON with the WAF on (defaults: paranoia 1, threshold 5) vs off',
    description:
      "The same public route with `waf.mode: enforce` and `waf.mode: off`. The body (bench/wrk/body-1k.json) is benign, so every request is inspected in full and passes. When nginx, its ModSecurity module and the OWASP CRS are installed (Debian: `apt-get install nginx libnginx-mod-http-modsecurity modsecurity-crs`), the same run includes nginx + ModSecurity v3 + CRS at PL1 in blocking mode (bench/nginx: one nginx process pinned to CPU 0, no access log, the anchor rig's ModSecurity settings); otherwise that row is absent. Below the table: the time spent in the WAF engine alone for ~1 KB and ~10 KB JSON bodies of realistic API content (`node dist/bench/waf-engine.js`, pinned to CPU 0).",
    baseline: 'waf-off',
    targets: [
      { name: 'waf-off', start: gateway('waf.yaml', { WAF: 'off' }) },
      { name: 'waf-on', start: gateway('waf.yaml', { WAF: 'enforce' }) },
      // A/B while working: BENCH_ALT_ROOT=<another checkout, built> adds that build's WAF-on row
      ...(process.env.BENCH_ALT_ROOT ? [{ name: 'waf-on-alt', start: gateway('waf.yaml', { WAF: 'enforce' }, process.env.BENCH_ALT_ROOT) }] : []),
      ...(haveModsec() ? [{ name: 'nginx-modsecurity-crs', start: nginxModsec }] : []),
    ],
    workloads: [POST],
    checks: [{ workload: 'post', target: 'waf-on', minRatio: 0.7 }],
    verify: async ({ targets }) => {
      for (const t of targets.filter((x) => x.name !== 'waf-off')) {
        const r = await fetch(`http://127.0.0.1:${t.port}/api/items`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', host: 'api.local', 'user-agent': 'portcullis-bench/1.0', accept: 'application/json' },
          body: JSON.stringify({ q: "' OR 1=1--" }),
        });
        if (r.status !== 403) throw new Error(`${t.name} answered ${r.status} to a SQL injection`);
      }
    },
    after: async ({ ROOT, results }) => {
      const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
      const post = results.post ?? {};
      const vsModsec = post['nginx-modsecurity-crs']
        ? `Portcullis with the WAF on vs nginx + ModSecurity + CRS in this run: ${(med(post['waf-on'].map((r) => r.rps)) / med(post['nginx-modsecurity-crs'].map((r) => r.rps))).toFixed(1)}x the requests/s.\n\n`
        : 'nginx + ModSecurity + CRS is not installed on this machine: no comparison in this run (../shared/bench/results has its figures).\n\n';
      const args = [join(ROOT, 'dist', 'bench', 'waf-engine.js')];
      let out;
      try {
        out = execFileSync('taskset', ['-c', '0', process.execPath, ...args], { encoding: 'utf8' });
      } catch {
        out = execFileSync(process.execPath, args, { encoding: 'utf8' });
      }
      return vsModsec + ['WAF engine alone (`taskset -c 0 node dist/bench/waf-engine.js`):', '', '```', out.trim(), '```'].join('\n');
    },
  },
  cache: {
    title: 'Response cache (issue 20): a cache hit vs the Node limit proxy',
    description:
      'GET of a ~1 KB JSON (`Cache-Control: public, max-age=600`) through the minimal node:http + undici proxy, which asks the upstream every time, and through Portcullis with the route cached (memory store, access log on, every other stage at its defaults off as in core.yaml): after the first request every request is a hit, answered without an upstream round trip.',
    baseline: 'node-limit',
    targets: [
      { name: 'node-limit', start: nodeLimit },
      { name: 'cache-hit', start: gateway('cache.yaml', { CACHE: 'on' }) },
    ],
    workloads: [CATALOG],
    checks: [{ workload: 'get-1k', target: 'cache-hit', minRatio: 1.5 }],
    verify: async ({ targets }) => {
      const t = targets.find((x) => x.name === 'cache-hit');
      const url = `http://127.0.0.1:${t.port}/api/catalog/verify`;
      await (await fetch(url)).text();
      const r = await fetch(url);
      await r.text();
      if (!/^Portcullis; hit/.test(r.headers.get('cache-status') ?? '')) throw new Error(`cache-hit target: Cache-Status ${r.headers.get('cache-status')}`);
    },
  },
  'cache-miss': {
    title: 'Response cache (issue 20): every request a miss vs the same route uncached',
    description:
      'GET of a ~1 KB JSON at a new URL every request (bench/wrk/get-unique.lua): the cached route looks the URL up, goes upstream, taps the body and stores it (the memory store fills to its 64 MiB and then evicts the least recently used), against the same route without a cache.',
    baseline: 'uncached',
    targets: [
      { name: 'uncached', start: gateway('cache.yaml', { CACHE: 'off' }) },
      { name: 'cache-miss', start: gateway('cache.yaml', { CACHE: 'on' }) },
    ],
    workloads: [CATALOG_MISS],
    checks: [{ workload: 'get-1k-miss', target: 'cache-miss', minRatio: 0.95 }],
  },
  h2: {
    title: 'HTTP/2 (issue 22): GET over h2c through Portcullis vs a minimal node:http2 proxy',
    description:
      'GET of a 235-byte JSON over cleartext HTTP/2 (prior knowledge) through (a) bench/node-h2-proxy.mjs: node:http2 compatibility API + undici `Pool.stream` to the HTTP/1.1 upstream, and (b) Portcullis with the core routes, no security stages, access log on, listener `protocols: [h2]`. Load from bench/h2-load.mjs (node:http2 client) on CPU 1.',
    standalone: h2Scenario,
  },
  'h2-flood': {
    title: 'HTTP/2 floods (issue 22): a well-behaved client during a Rapid Reset flood',
    description:
      'p99 latency of a well-behaved h2c client through Portcullis (core routes, no security stages, access log on, flood budgets at their defaults) without a flood and while Rapid Reset attackers flood it on other connections; the issue asks for a p99 under the flood no worse than 2x the p99 without.',
    standalone: h2FloodScenario,
  },
  'cache-memory': {
    title: 'Response cache (issue 20): memory under 100,000 distinct keys',
    description: 'The memory store is bounded in bytes (64 MiB by default); this measures what that bound means for the whole process.',
    standalone: cacheMemory,
  },
};
