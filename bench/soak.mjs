// Soak: the full pipeline (bench/configs/soak/) at half its measured capacity for N minutes.
//
//   npm run soak -- --minutes 30 [--write]
//
// 1. starts the bench upstream (CPU 1) and the gateway (`portcullis start`, CPU 0);
// 2. measures capacity: 64 requests in flight for 10 s, the same mix as the soak;
// 3. sends half that rate, open loop (each request at its scheduled time; latency counted from
//    then, so that a stalled gateway shows as latency and not as fewer requests), for N minutes:
//    GETs of items (20 per consumer) and 1 KB JSON POSTs, from a rotating set of client addresses
//    (X-Forwarded-For through a trusted proxy: new addresses every minute), with bearer JWTs that
//    are re-signed for new subjects every minute (each a new consumer and a new verified-token
//    cache entry);
// 4. samples every 10 s: the gateway's RSS and open file descriptors (/proc), V8 heap used and
//    event-loop delay p99 (its own Prometheus metrics), and the window's latency p99 and errors;
// 5. judges (the first fifth of the run is warm-up): RSS at the end within 10% of RSS after
//    warm-up, no fd growth (at most +5), p99 of the last fifth within 20% of the p99 of the fifth
//    after warm-up; draws bench/soak.svg and, with --write, the section of bench/results.md.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { freePort, waitPort } from './net.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    write: { type: 'boolean', default: false },
    'capacity-s': { type: 'string', default: '10' },
  },
});
const MINUTES = Number(args.minutes);
const SAMPLE_MS = 10_000;
const ROTATE_MS = 60_000;

const { devToken } = await import(join(ROOT, 'dist/src/stages/auth/dev-token.js'));
const DEV_KEYS = join(ROOT, 'examples/quickstart/dev-jwt.json');
const BODY = readFileSync(join(HERE, 'wrk/body-1k.json'));

const procs = [];
const haveTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();
function start(cpu, cmd, argv, env = {}) {
  const p = haveTaskset
    ? spawn('taskset', ['-c', String(cpu), cmd, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  procs.push(p);
  return p;
}
const stopAll = () => {
  for (const p of procs) p.kill('SIGTERM');
};
process.on('exit', stopAll);

const work = mkdtempSync(join(tmpdir(), 'portcullis-soak-'));
const port = await freePort();
const upstreamPort = await freePort();
const adminPort = await freePort();
start(1, process.execPath, [join(HERE, 'upstream.mjs')], { PORT: String(upstreamPort) });
const cfg = readFileSync(join(HERE, 'configs/soak/portcullis.yaml'), 'utf8').replace(
  /\{\{(\w+)\}\}/g,
  (_m, k) => ({ PORT: port, ADMIN_PORT: adminPort, UPSTREAM_PORT: upstreamPort, WORK: work, ROOT })[k],
);
writeFileSync(join(work, 'portcullis.yaml'), cfg);
const gw = start(0, process.execPath, [join(ROOT, 'bin/portcullis.js'), 'start', '-c', join(work, 'portcullis.yaml')]);
await waitPort(upstreamPort);
await waitPort(port);
await waitPort(adminPort);
// taskset execs node: the gateway's pid is taskset's
const gwPid = gw.pid;

// ---- the mix -----------------------------------------------------------------------------------
let epoch = 0;
let tokens = [];
let ips = [];
function rotate() {
  epoch++;
  const now = Date.now();
  tokens = Array.from({ length: 20 }, (_, i) => devToken({ file: DEV_KEYS, sub: `soak-${epoch}-${i}`, scopes: [], ttlS: 600, tenant: null, now }));
  ips = Array.from({ length: 200 }, (_, i) => `10.${epoch % 250}.${(i >> 8) & 255}.${i & 255}`);
}
rotate();
let seq = 0;
const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 64, pipelining: 1 });

/** One request of the mix; resolves with its status (0 on an error). */
async function one() {
  const n = seq++;
  const headers = { authorization: `Bearer ${tokens[n % tokens.length]}`, 'x-forwarded-for': ips[n % ips.length] };
  const post = n % 4 === 3;
  try {
    const r = await pool.request({
      method: post ? 'POST' : 'GET',
      // each consumer reads among 20 items: a client walking a whole catalogue is what the abuse
      // stage's enumeration detector throttles (seen in the first 30-minute run)
      path: post ? '/api/items' : `/api/items/${(Math.floor(n / 20) % 20) + 1}`,
      headers: post ? { ...headers, 'content-type': 'application/json' } : headers,
      body: post ? BODY : undefined,
    });
    await r.body.dump();
    return r.statusCode;
  } catch {
    return 0;
  }
}

// ---- capacity: closed loop -----------------------------------------------------------------------
async function capacity(seconds) {
  const until = Date.now() + seconds * 1000;
  let done = 0;
  let bad = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (Date.now() < until) {
        const s = await one();
        done++;
        if (s < 200 || s > 299) bad++;
      }
    }),
  );
  return { rps: done / seconds, bad };
}
await capacity(3); // warm-up
const cap = await capacity(Number(args['capacity-s']));
if (cap.bad > 0) console.error(`soak: ${cap.bad} requests of the capacity run were not 2xx (check the mix)`);
const rate = Math.max(50, Math.round(cap.rps / 2));
console.error(`soak: capacity ${cap.rps.toFixed(0)} req/s; soaking at ${rate} req/s for ${MINUTES} min`);

// ---- soak: open loop -----------------------------------------------------------------------------
const samples = [];
let window = [];
let windowErrors = 0;
let inFlight = 0;
const t0 = Date.now();
const endAt = t0 + MINUTES * 60_000;
const TICK = 10;
let scheduled = 0;
let sentTotal = 0;
let errorsTotal = 0;
const statuses = new Map();

function metric(text, name) {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m === null ? null : Number(m[1]);
}
async function sample() {
  const status = readFileSync(`/proc/${gwPid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fds = readdirSync(`/proc/${gwPid}/fd`).length;
  let heap = null;
  let loopP99 = null;
  try {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    heap = metric(text, 'portcullis_process_nodejs_heap_size_used_bytes');
    loopP99 = metric(text, 'portcullis_process_nodejs_eventloop_lag_p99_seconds');
  } catch {}
  const lat = window.sort((a, b) => a - b);
  const p99 = lat.length === 0 ? null : lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))];
  samples.push({
    t: (Date.now() - t0) / 1000,
    rssMb: rssKb / 1024,
    fds,
    heapMb: heap === null ? null : heap / 1048576,
    loopP99Ms: loopP99 === null ? null : loopP99 * 1000,
    p99Ms: p99,
    requests: lat.length,
    errors: windowErrors,
  });
  const s = samples.at(-1);
  console.error(
    `soak: ${s.t.toFixed(0)} s  rss ${s.rssMb.toFixed(0)} MB  heap ${s.heapMb?.toFixed(0)} MB  fds ${s.fds}  loop p99 ${s.loopP99Ms?.toFixed(1)} ms  p99 ${s.p99Ms?.toFixed(1)} ms  ${s.requests} req  ${s.errors} err`,
  );
  window = [];
  windowErrors = 0;
}

await new Promise((resolve) => {
  const sampler = setInterval(() => void sample(), SAMPLE_MS);
  const rotator = setInterval(rotate, ROTATE_MS);
  const ticker = setInterval(() => {
    const now = Date.now();
    if (now >= endAt) {
      clearInterval(ticker);
      clearInterval(rotator);
      const wait = setInterval(() => {
        if (inFlight === 0 || Date.now() > endAt + 10_000) {
          clearInterval(wait);
          clearInterval(sampler);
          resolve();
        }
      }, 50);
      return;
    }
    // every request whose scheduled time has come, with that time as its start
    const due = Math.floor(((now - t0) * rate) / 1000);
    for (; scheduled < due; scheduled++) {
      const at = t0 + (scheduled * 1000) / rate;
      inFlight++;
      sentTotal++;
      void one().then((st) => {
        inFlight--;
        window.push(Date.now() - at);
        statuses.set(st, (statuses.get(st) ?? 0) + 1);
        if (st < 200 || st > 299) {
          windowErrors++;
          errorsTotal++;
        }
      });
    }
  }, TICK);
});
await pool.close();
stopAll();
rmSync(work, { recursive: true, force: true });

// ---- judge ---------------------------------------------------------------------------------------
const n = samples.length;
const fifth = Math.max(1, Math.floor(n / 5));
const median = (xs) => {
  const s = xs.filter((x) => x !== null).sort((a, b) => a - b);
  return s.length === 0 ? null : s[Math.floor(s.length / 2)];
};
const warm = samples.slice(fifth, 2 * fifth);
const last = samples.slice(n - fifth);
const rssWarm = median(warm.map((s) => s.rssMb));
const rssEnd = samples.at(-1).rssMb;
const fdWarm = Math.max(...warm.map((s) => s.fds));
const fdEnd = samples.at(-1).fds;
const p99Warm = median(warm.map((s) => s.p99Ms));
const p99Last = median(last.map((s) => s.p99Ms));
const checks = [
  {
    what: 'RSS at the end within 10% of RSS after warm-up',
    value: `${rssWarm.toFixed(0)} → ${rssEnd.toFixed(0)} MB (${(((rssEnd - rssWarm) / rssWarm) * 100).toFixed(1)}%)`,
    ok: Math.abs(rssEnd - rssWarm) <= 0.1 * rssWarm,
  },
  { what: 'no file-descriptor growth (at most +5)', value: `${fdWarm} → ${fdEnd}`, ok: fdEnd <= fdWarm + 5 },
  {
    what: 'p99 of the last fifth within 20% of the fifth after warm-up',
    value: `${p99Warm?.toFixed(1)} → ${p99Last?.toFixed(1)} ms (${(((p99Last - p99Warm) / p99Warm) * 100).toFixed(1)}%)`,
    ok: Math.abs(p99Last - p99Warm) <= 0.2 * p99Warm,
  },
];
for (const c of checks) console.error(`soak: ${c.ok ? 'PASS' : 'FAIL'} ${c.what}: ${c.value}`);
console.error(`soak: ${sentTotal} requests, ${errorsTotal} not 2xx or failed; statuses ${JSON.stringify(Object.fromEntries(statuses))} (0: failed)`);

// ---- chart ---------------------------------------------------------------------------------------
function chart(series) {
  const W = 760;
  const H = 150;
  const PAD = 44;
  const tMax = Math.max(...samples.map((s) => s.t), 1);
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${(H + 30) * series.length + 40}" font-family="sans-serif" font-size="11">\n`;
  out += `<text x="${PAD}" y="18" font-size="13">Soak: full pipeline at ${rate} req/s (half of the measured ${cap.rps.toFixed(0)}), ${MINUTES} min, samples every 10 s; shaded: warm-up</text>\n`;
  series.forEach(({ label, key, unit }, i) => {
    const y0 = 40 + i * (H + 30);
    const vals = samples.map((s) => s[key]).filter((v) => v !== null);
    const vMax = Math.max(...vals, 1e-9) * 1.1;
    const x = (t) => PAD + ((W - PAD - 10) * t) / tMax;
    const y = (v) => y0 + H - (H * v) / vMax;
    out += `<rect x="${PAD}" y="${y0}" width="${x(samples[fifth - 1]?.t ?? 0) - PAD}" height="${H}" fill="#eee"/>\n`;
    out += `<line x1="${PAD}" y1="${y0 + H}" x2="${W - 10}" y2="${y0 + H}" stroke="#999"/><line x1="${PAD}" y1="${y0}" x2="${PAD}" y2="${y0 + H}" stroke="#999"/>\n`;
    out += `<text x="${PAD}" y="${y0 - 4}">${label} (${unit}); max ${Math.max(...vals).toFixed(1)}</text>\n`;
    out += `<text x="4" y="${y0 + 10}">${vMax.toFixed(0)}</text><text x="4" y="${y0 + H}">0</text>\n`;
    const pts = samples.filter((s) => s[key] !== null).map((s) => `${x(s.t).toFixed(1)},${y(s[key]).toFixed(1)}`);
    out += `<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="${pts.join(' ')}"/>\n`;
  });
  out += `<text x="${PAD}" y="${40 + series.length * (H + 30) - 8}">time (s), 0 to ${tMax.toFixed(0)}</text>\n</svg>\n`;
  return out;
}
writeFileSync(
  join(HERE, 'soak.svg'),
  chart([
    { label: 'RSS', key: 'rssMb', unit: 'MB' },
    { label: 'V8 heap used', key: 'heapMb', unit: 'MB' },
    { label: 'open file descriptors', key: 'fds', unit: 'count' },
    { label: 'event-loop delay p99', key: 'loopP99Ms', unit: 'ms' },
    { label: 'request latency p99 (10 s windows)', key: 'p99Ms', unit: 'ms' },
  ]),
);
console.error(`soak: wrote ${join(HERE, 'soak.svg')}`);

if (args.write) {
  let rev = 'unknown';
  try {
    rev = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {}
  const section = `<!-- scenario:soak -->
## Soak (issue 24): the full pipeline at half capacity for ${MINUTES} minutes

Measured ${new Date().toISOString()} on ${rev}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}: \`npm run soak -- --minutes ${MINUTES} --write\` (bench/soak.mjs). Gateway on CPU 0 with bench/configs/soak/ (bearer JWT, OpenAPI validation, per-client and per-consumer limits, WAF and abuse detection at their defaults, access and audit logs); load and upstream on CPU 1. Capacity (64 in flight, 10 s): ${cap.rps.toFixed(0)} req/s; soak at ${rate} req/s, open loop, 3 GETs (20 ids per consumer) to 1 POST of 1 KB JSON, 200 client addresses and 20 token subjects replaced every minute. ${sentTotal} requests, ${errorsTotal} not 2xx or failed (statuses: ${JSON.stringify(Object.fromEntries(statuses))}). Chart: [bench/soak.svg](soak.svg) (RSS, heap, fds, event-loop delay p99, latency p99 every 10 s).

| check | measured | |
|---|---|---|
${checks.map((c) => `| ${c.what} | ${c.value} | ${c.ok ? 'pass' : 'FAIL'} |`).join('\n')}
<!-- /scenario:soak -->`;
  const file = join(HERE, 'results.md');
  const text = readFileSync(file, 'utf8');
  const re = /<!-- scenario:soak -->[\s\S]*?<!-- \/scenario:soak -->/;
  writeFileSync(file, re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}\n`);
  console.error(`soak: wrote ${file}`);
}
process.exit(checks.every((c) => c.ok) ? 0 : 1);
