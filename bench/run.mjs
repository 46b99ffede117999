#!/usr/bin/env node
// Portcullis benchmarks: throughput and latency through the gateway compared, in the same run,
// with a baseline (the minimal node:http + undici proxy, or the same route without a feature).
// Loopback only; bounded wrk runs. The server under test is pinned to CPU 0, wrk and the upstream
// share CPU 1 (as ../shared/bench does). Results replace this run's sections of bench/results.md.
//
//   npm run bench                                  # every scenario, 3 rounds of 5 s
//   npm run bench -- --scenarios core,waf --rounds 5 --duration 10s
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { SCENARIOS } from './scenarios.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: Object.keys(SCENARIOS).join(',') },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5s' },
    warmup: { type: 'string', default: '1s' },
    connections: { type: 'string', default: '64' },
    out: { type: 'string', default: join(HERE, 'results.md') },
    // for quick comparisons while working: only these targets / workloads (comma-separated)
    targets: { type: 'string' },
    workloads: { type: 'string' },
  },
});

if (spawnSync('wrk', ['--version']).error) {
  console.error('wrk is required: apt-get install -y wrk');
  process.exit(2);
}
const haveTaskset = !spawnSync('taskset', ['-c', '0', 'true']).error;
const pin = (cpu, cmd, argv) => (haveTaskset ? ['taskset', ['-c', String(cpu), cmd, ...argv]] : [cmd, argv]);
const work = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
const children = new Set();

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function waitPort(port, ms = 15000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} did not open`);
}

function startProc(cpu, cmd, argv, env = {}) {
  const [c, a] = pin(cpu, cmd, argv);
  const child = spawn(c, a, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d.toString()).slice(-4000)));
  child.errText = () => err;
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function stopAll() {
  for (const c of children) c.kill('SIGTERM');
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

function cpuTimes() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu0 '));
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + v[4];
  const total = v.reduce((a, b) => a + b, 0);
  return { idle, total };
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
function procCpu(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(v[11]) + Number(v[12])) / 100;
  } catch {
    return null;
  }
}

function runWrk(port, wl, duration, headers, pid) {
  const env = { ...process.env, BENCH_HEADERS: Object.entries(headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n') };
  if (wl.body) env.BENCH_BODY = join(HERE, 'wrk', wl.body);
  const [c, a] = pin(1, 'wrk', ['-t1', `-c${args.connections}`, `-d${duration}`, '--timeout', '5s', '-s', join(HERE, 'wrk', wl.script), `http://127.0.0.1:${port}${wl.path}`]);
  const before = existsSync('/proc/stat') ? cpuTimes() : null;
  const cpuBefore = pid ? procCpu(pid) : null;
  const out = execFileSync(c, a, { env, encoding: 'utf8', maxBuffer: 1 << 20 });
  const cpuAfter = pid ? procCpu(pid) : null;
  const after = before ? cpuTimes() : null;
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk gave no summary:\n${out}`);
  const r = JSON.parse(line.slice(11));
  r.non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  r.cpu0 = before ? 1 - (after.idle - before.idle) / (after.total - before.total) : null;
  // CPU time the server under test spent per request: robust to other load on the machine
  r.cpu_us = cpuBefore !== null && cpuAfter !== null && r.requests > 0 ? ((cpuAfter - cpuBefore) * 1e6) / r.requests : null;
  return r;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

async function main() {
  const names = args.scenarios.split(',').filter(Boolean);
  for (const n of names) if (!SCENARIOS[n]) throw new Error(`unknown scenario ${n} (have: ${Object.keys(SCENARIOS).join(', ')})`);
  const rounds = Number(args.rounds);
  const upstreamPort = await freePort();
  startProc(1, process.execPath, [join(HERE, 'upstream.mjs')], { PORT: String(upstreamPort) });
  await waitPort(upstreamPort);
  const env = { ROOT, HERE, work, upstreamPort, startProc, waitPort, freePort };
  const sections = {};
  for (const name of names) {
    const sc = SCENARIOS[name];
    console.error(`\n== scenario ${name}: ${sc.title}`);
    if (sc.standalone) {
      const body = await sc.standalone(env);
      sections[name] = [`<!-- scenario:${name} -->`, `## ${sc.title}`, '', sc.description ?? '', '', body, '', `<!-- /scenario:${name} -->`].join('\n');
      console.error(body);
      continue;
    }
    const targets = [];
    const only = (list, name) => !list || list.split(',').includes(name);
    const workloads = sc.workloads.filter((w) => only(args.workloads, w.name));
    for (const t of sc.targets.filter((x) => only(args.targets, x.name) || x.name === sc.baseline)) {
      const port = await freePort();
      const started = await t.start({ ...env, port });
      await waitPort(port);
      targets.push({ ...t, port, headers: started?.headers ?? {}, proc: started?.proc, stop: started?.stop });
    }
    if (sc.verify) await sc.verify({ ...env, targets });
    const results = {};
    const warmups = {};
    for (const wl of workloads) for (const t of targets) if (!t.workloads || t.workloads.includes(wl.name)) {
      (warmups[wl.name] ??= {})[t.name] = runWrk(t.port, wl, args.warmup, { ...t.headers, ...(wl.headers ?? {}) }, t.proc?.pid);
    }
    for (let r = 0; r < rounds; r++) {
      // the order of the targets alternates between rounds, so that a drift of the machine's
      // speed during a round does not always favour the same target
      const order = r % 2 === 1 ? [...targets].reverse() : targets;
      for (const wl of workloads) {
        for (const t of order) {
          if (t.workloads && !t.workloads.includes(wl.name)) continue;
          const res = runWrk(t.port, wl, args.duration, { ...t.headers, ...(wl.headers ?? {}) }, t.proc?.pid);
          ((results[wl.name] ??= {})[t.name] ??= []).push(res);
          console.error(`  round ${r + 1} ${wl.name.padEnd(8)} ${t.name.padEnd(28)} ${fmt(res.rps).padStart(8)} req/s  p99 ${(res.p99_us / 1000).toFixed(2)} ms  cpu/req ${res.cpu_us === null ? '-' : res.cpu_us.toFixed(1) + ' µs'}  cpu0 ${res.cpu0 === null ? '-' : Math.round(res.cpu0 * 100) + '%'}${res.non2xx ? `  non2xx ${res.non2xx}` : ''}`);
        }
      }
    }
    const extra = sc.after ? await sc.after({ ...env, targets, results, warmups }) : null;
    for (const t of targets) {
      if (t.stop) await t.stop();
      else if (t.proc) t.proc.kill('SIGTERM');
    }
    sections[name] = render(name, sc, results, extra);
  }
  write(sections);
  stopAll();
  const failed = Object.values(sections).some((s) => s.includes('| FAIL |'));
  console.error(failed ? '\nsome checks failed (see bench/results.md)' : '\nall checks passed');
}

function render(name, sc, results, extra) {
  const lines = [`<!-- scenario:${name} -->`, `## ${sc.title}`, '', sc.description ?? '', ''];
  lines.push('| workload | target | req/s (median) | min–max | p50 ms | p99 ms | ratio vs ' + sc.baseline + ' | per-round ratios (median) | p99 ratio | CPU µs/request | CPU ratio | cpu0 busy | errors / non-2xx |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const summary = {};
  for (const [wl, byTarget] of Object.entries(results)) {
    const base = byTarget[sc.baseline];
    const baseRps = base ? median(base.map((r) => r.rps)) : null;
    const baseP99 = base ? median(base.map((r) => r.p99_us)) : null;
    const baseCpu = base && base.every((r) => r.cpu_us !== null) ? median(base.map((r) => r.cpu_us)) : null;
    for (const [t, runs] of Object.entries(byTarget)) {
      const rps = median(runs.map((r) => r.rps));
      const p50 = median(runs.map((r) => r.p50_us)) / 1000;
      const p99 = median(runs.map((r) => r.p99_us));
      const cpu = runs.every((r) => r.cpu0 !== null) ? Math.round(median(runs.map((r) => r.cpu0)) * 100) + '%' : 'n/a';
      const errs = runs.reduce((a, r) => a + r.err_connect + r.err_read + r.err_write + r.err_timeout, 0);
      const non2xx = runs.reduce((a, r) => a + r.non2xx, 0);
      const ratio = baseRps ? rps / baseRps : null;
      const cpuUs = runs.every((r) => r.cpu_us !== null) ? median(runs.map((r) => r.cpu_us)) : null;
      const cpuRatio = cpuUs !== null && baseCpu ? cpuUs / baseCpu : null;
      const p99r = baseP99 ? p99 / baseP99 : null;
      // paired: each round's ratio to the baseline measured next to it in that round
      const paired = base && base.length === runs.length ? median(runs.map((r, i) => r.rps / base[i].rps)) : null;
      const pairedP99 = base && base.length === runs.length ? median(runs.map((r, i) => r.p99_us / base[i].p99_us)) : null;
      (summary[wl] ??= {})[t] = { rps, ratio, p99r, paired, pairedP99 };
      lines.push(`| ${wl} | ${t} | ${fmt(rps)} | ${fmt(Math.min(...runs.map((r) => r.rps)))}–${fmt(Math.max(...runs.map((r) => r.rps)))} | ${p50.toFixed(2)} | ${(p99 / 1000).toFixed(2)} | ${ratio === null ? '' : ratio.toFixed(2)} | ${paired === null ? '' : runs.map((r, i) => (r.rps / base[i].rps).toFixed(2)).join(' ') + ' (' + paired.toFixed(2) + ')'} | ${p99r === null ? '' : p99r.toFixed(2)} | ${cpuUs === null ? 'n/a' : cpuUs.toFixed(1)} | ${cpuRatio === null ? '' : cpuRatio.toFixed(2)} | ${cpu} | ${errs} / ${non2xx} |`);
    }
  }
  if (sc.checks?.length) {
    lines.push('', '| check | measured | result |', '|---|---|---|');
    for (const c of sc.checks) {
      const s = summary[c.workload]?.[c.target];
      if (!s) continue;
      // a check passes only when both statistics pass: the ratio of the medians and the median of the per-round ratios
      const both = (a, b, ok) => (ok(a) && (b === null || ok(b)) ? 'pass' : 'FAIL');
      const show = (a, b) => `${a.toFixed(2)}x${b === null ? '' : ` (per round: ${b.toFixed(2)}x)`}`;
      if (c.minRatio !== undefined) lines.push(`| ${c.workload}: ${c.target} ≥ ${c.minRatio}x ${sc.baseline} req/s | ${show(s.ratio, s.paired)} | ${both(s.ratio, s.paired, (x) => x >= c.minRatio)} |`);
      if (c.maxP99Ratio !== undefined) lines.push(`| ${c.workload}: ${c.target} p99 ≤ ${c.maxP99Ratio}x ${sc.baseline} | ${show(s.p99r, s.pairedP99)} | ${both(s.p99r, s.pairedP99, (x) => x <= c.maxP99Ratio)} |`);
    }
  }
  if (extra) lines.push('', extra);
  lines.push('', `<!-- /scenario:${name} -->`);
  return lines.join('\n');
}

function write(sections) {
  const file = args.out;
  const cpu = cpus()[0]?.model ?? 'unknown';
  const wrkV = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] || 'wrk';
  const header = [
    '# Portcullis benchmark results',
    '',
    `Generated by \`npm run bench -- --scenarios ${Object.keys(sections).join(',')} --rounds ${args.rounds} --duration ${args.duration}\` on ${new Date().toISOString()}.`,
    '',
    `- machine: ${cpu}, ${cpus().length} CPUs, ${process.platform} ${process.arch}; node ${process.version}; ${wrkV.trim()}`,
    `- load: \`taskset -c 1 wrk -t1 -c${args.connections} -d${args.duration} --timeout 5s\` after a ${args.warmup} warm-up per target and workload; ${args.rounds} rounds, targets interleaved in each round, in alternating order; medians over rounds`,
    `- pinning: the server under test on CPU 0; wrk and the upstream (bench/upstream.mjs) on CPU 1. The machine is shared and noisy: compare ratios within a run, not absolute numbers.`,
    '- ratio = median req/s of the target / median req/s of the scenario\'s baseline in the same run; p99 ratio likewise. Per-round ratios: each round\'s req/s against the baseline measured next to it in that round (the order of the targets alternates between rounds), and their median. A check passes only when both the ratio and the median per-round ratio pass',
    '- CPU µs/request = CPU time (user + system, from /proc) the server under test used during the measured run, divided by the requests served: less sensitive than req/s to other load on a shared machine; CPU ratio compares it with the baseline (lower is better)',
    '',
  ].join('\n');
  let old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const kept = [];
  for (const m of old.matchAll(/<!-- scenario:([\w-]+) -->[\s\S]*?<!-- \/scenario:\1 -->/g)) if (!sections[m[1]]) kept.push(m[0]);
  const order = Object.keys(SCENARIOS);
  const all = [...kept, ...Object.values(sections)].sort((a, b) => order.indexOf(/scenario:([\w-]+)/.exec(a)[1]) - order.indexOf(/scenario:([\w-]+)/.exec(b)[1]));
  writeFileSync(file, `${header}\n${all.join('\n\n')}\n`);
  console.error(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  stopAll();
  process.exit(1);
});
