#!/usr/bin/env node
// Portcullis benchmarks: throughput and latency through the gateway compared, in the same run,
// with a baseline (the minimal node:http + undici proxy, or the same route without a feature).
// Loopback only; bounded wrk runs. The server under test is pinned to CPU 0, wrk and the upstream
// share CPU 1 (as ../shared/bench does). Results replace this run's sections of bench/results.md.
//
//   npm run bench                                  # every scenario: 5 rounds of 5 s, 40 pairs of 1 s per check
//   npm run bench -- --scenarios core,waf --rounds 5 --duration 10s
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SCENARIOS } from './scenarios.mjs';
import { freePort, procCpu, waitPort } from './net.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: Object.keys(SCENARIOS).join(',') },
    // 5: on a shared machine, one or two rounds disturbed by other load do not move the medians
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5s' },
    warmup: { type: 'string', default: '1s' },
    // the judged one-after-the-other figure: many short pairs of runs (see the header of results.md)
    pairs: { type: 'string', default: '40' },
    slice: { type: 'string', default: '1s' },
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
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('cpu0 '));
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + v[4];
  const total = v.reduce((a, b) => a + b, 0);
  return { idle, total };
}

/** wrk's command line and environment for one run against `port`. */
function wrkArgs(port, wl, duration, headers) {
  const env = {
    ...process.env,
    BENCH_HEADERS: Object.entries(headers ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
  };
  if (wl.body) env.BENCH_BODY = join(HERE, 'wrk', wl.body);
  const [c, a] = pin(1, 'wrk', [
    '-t1',
    `-c${args.connections}`,
    `-d${duration}`,
    '--timeout',
    '5s',
    '-s',
    join(HERE, 'wrk', wl.script),
    `http://127.0.0.1:${port}${wl.path}`,
  ]);
  return { c, a, env };
}

/** wrk's summary (bench/wrk/common.lua prints it as JSON). */
function parseWrk(out) {
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk gave no summary:\n${out}`);
  const r = JSON.parse(line.slice(11));
  r.non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return r;
}

function runWrk(port, wl, duration, headers, pid) {
  const { c, a, env } = wrkArgs(port, wl, duration, headers);
  const before = existsSync('/proc/stat') ? cpuTimes() : null;
  const cpuBefore = pid ? procCpu(pid) : null;
  const out = execFileSync(c, a, { env, encoding: 'utf8', maxBuffer: 1 << 20 });
  const cpuAfter = pid ? procCpu(pid) : null;
  const after = before ? cpuTimes() : null;
  const r = parseWrk(out);
  r.cpu0 = before ? 1 - (after.idle - before.idle) / (after.total - before.total) : null;
  // CPU time the server under test spent per request: robust to other load on the machine
  r.cpu_us = cpuBefore !== null && cpuAfter !== null && r.requests > 0 ? ((cpuAfter - cpuBefore) * 1e6) / r.requests : null;
  return r;
}

/**
 * Two targets loaded at the same time, both servers on CPU 0 (two wrk on CPU 1): they share the
 * core and whatever else the machine is doing at that moment, so their ratio is not moved by the
 * machine's speed changing between runs. Returns each run with the CPU seconds its server used.
 */
async function runTogether(runs, wl, duration) {
  const cpuBefore = runs.map((x) => (x.pid ? procCpu(x.pid) : null));
  const outs = await Promise.all(
    runs.map(
      (x) =>
        new Promise((resolve, reject) => {
          const { c, a, env } = wrkArgs(x.port, wl, duration, x.headers);
          const child = spawn(c, a, { env, stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          child.stdout.on('data', (d) => (out += d));
          child.on('error', reject);
          // 'close', not 'exit': the output may still be unread when the process exits
          child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}`))));
        }),
    ),
  );
  return outs.map((out, i) => {
    const r = parseWrk(out);
    const after = runs[i].pid ? procCpu(runs[i].pid) : null;
    r.cpu_s = cpuBefore[i] !== null && after !== null ? after - cpuBefore[i] : null;
    return r;
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** lower quartile, median, upper quartile */
const quartiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p) => {
    const i = (s.length - 1) * p;
    return s[Math.floor(i)] + (s[Math.ceil(i)] - s[Math.floor(i)]) * (i - Math.floor(i));
  };
  return [at(0.25), at(0.5), at(0.75)];
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
      sections[name] = [...sectionHead(name, sc), body, '', `<!-- /scenario:${name} -->`].join('\n');
      write(sections);
      console.error(body);
      continue;
    }
    const targets = [];
    const only = (list, name) => !list || list.split(',').includes(name);
    const workloads = sc.workloads.filter((w) => only(args.workloads, w.name));
    for (const t of sc.targets.filter((x) => only(args.targets, x.name) || x.name === sc.baseline)) {
      const port = await freePort();
      const started = await t.start({ ...env, port });
      try {
        await waitPort(port, 60_000);
      } catch (e) {
        throw new Error(`${name}/${t.name}: ${e.message}\n${started?.proc?.errText?.() ?? ''}`);
      }
      targets.push({ ...t, port, headers: started?.headers ?? {}, proc: started?.proc, stop: started?.stop });
    }
    if (sc.verify) await sc.verify({ ...env, targets });
    const results = {};
    const warmups = {};
    for (const wl of workloads)
      for (const t of targets)
        if (!t.workloads || t.workloads.includes(wl.name)) {
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
          console.error(
            `  round ${r + 1} ${wl.name.padEnd(8)} ${t.name.padEnd(28)} ${fmt(res.rps).padStart(8)} req/s  p99 ${(res.p99_us / 1000).toFixed(2)} ms  cpu/req ${res.cpu_us === null ? '-' : `${res.cpu_us.toFixed(1)} µs`}  cpu0 ${res.cpu0 === null ? '-' : `${Math.round(res.cpu0 * 100)}%`}${res.non2xx ? `  non2xx ${res.non2xx}` : ''}`,
          );
        }
      }
    }
    const base = targets.find((t) => t.name === sc.baseline);
    const side = (x, wl) => ({ port: x.port, headers: { ...x.headers, ...(wl.headers ?? {}) }, pid: x.proc?.pid });
    // the checked targets one after the other, judged: many short pairs, each a run of the target
    // next to a run of the baseline, in alternating order (see the header of results.md for why)
    const pairs = {};
    for (const wl of workloads) {
      for (const name of new Set((sc.checks ?? []).filter((c) => c.workload === wl.name).map((c) => c.target))) {
        const t = targets.find((x) => x.name === name);
        if (!base || !t || !(Number(args.pairs) > 0)) continue;
        const list = ((pairs[wl.name] ??= {})[name] = []);
        for (let i = 0; i < Number(args.pairs); i++) {
          const run = (x) => {
            const s = side(x, wl);
            return runWrk(s.port, wl, args.slice, s.headers, s.pid);
          };
          let rt, rb;
          if (i % 2 === 0) {
            rb = run(base);
            rt = run(t);
          } else {
            rt = run(t);
            rb = run(base);
          }
          list.push({ t: rt, base: rb });
        }
        const q = quartiles(list.map((x) => x.t.rps / x.base.rps));
        console.error(
          `  pairs    ${wl.name.padEnd(8)} ${name.padEnd(20)} ${list.length} pairs of ${args.slice}: ratio median ${q[1].toFixed(3)} (quartiles ${q[0].toFixed(3)}–${q[2].toFixed(3)})`,
        );
      }
    }
    // the checked targets, each loaded at the same time as the baseline (see runTogether)
    const together = {};
    const reqChecks = (sc.checks ?? []).filter((c) => c.minRatio !== undefined);
    for (let r = 0; base && r < rounds; r++) {
      for (const wl of workloads) {
        for (const c of reqChecks) {
          const t = targets.find((x) => x.name === c.target);
          if (c.workload !== wl.name || !t) continue;
          const [rt, rb] = await runTogether([side(t, wl), side(base, wl)], wl, args.duration);
          ((together[wl.name] ??= {})[t.name] ??= []).push({ t: rt, base: rb });
          const perCpu = rt.cpu_s && rb.cpu_s ? rt.requests / rt.cpu_s / (rb.requests / rb.cpu_s) : null;
          console.error(
            `  together ${r + 1} ${wl.name.padEnd(8)} ${t.name.padEnd(20)} ${fmt(rt.rps).padStart(8)} vs ${sc.baseline} ${fmt(rb.rps).padStart(8)} req/s  ratio ${(rt.rps / rb.rps).toFixed(3)}  per CPU second ${perCpu === null ? '-' : perCpu.toFixed(3)}  p99 ${(rt.p99_us / 1000).toFixed(2)} vs ${(rb.p99_us / 1000).toFixed(2)} ms`,
          );
        }
      }
    }
    const extra = sc.after ? await sc.after({ ...env, targets, results, warmups, pairs, together }) : null;
    for (const t of targets) {
      if (t.stop) await t.stop();
      else if (t.proc) t.proc.kill('SIGTERM');
    }
    sections[name] = render(name, sc, results, pairs, together, extra);
    write(sections); // after each scenario: a later failure does not lose the figures
  }
  stopAll();
  const failed = Object.values(sections).some((s) => s.includes('| FAIL |'));
  console.error(failed ? `\nsome checks failed (see ${args.out})` : '\nall checks passed');
}

/** Which code and command measured a section (sections of several runs share results.md). */
function provenance(name) {
  let rev = 'unknown';
  try {
    rev = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    if (execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'bench', 'bin', ':!bench/results.md'], { encoding: 'utf8' }).trim())
      rev += ' with uncommitted changes';
  } catch {}
  return `Measured ${new Date().toISOString()} on ${rev}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}: \`node bench/run.mjs --scenarios ${name} --rounds ${args.rounds} --duration ${args.duration} --pairs ${args.pairs} --slice ${args.slice}\`.`;
}

/** The opening lines of a scenario's section of results.md. */
const sectionHead = (name, sc) => [`<!-- scenario:${name} -->`, `## ${sc.title}`, '', sc.description ?? '', '', provenance(name), ''];

function render(name, sc, results, pairs, together, extra) {
  const lines = sectionHead(name, sc);
  lines.push(
    `| workload | target | req/s (median) | min–max | p50 ms | p99 ms | ratio vs ${sc.baseline} | per-round ratios (median) | p99 ratio | CPU µs/request | CPU ratio | cpu0 busy | errors / non-2xx |`,
  );
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
      const cpu = runs.every((r) => r.cpu0 !== null) ? `${Math.round(median(runs.map((r) => r.cpu0)) * 100)}%` : 'n/a';
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
      lines.push(
        `| ${wl} | ${t} | ${fmt(rps)} | ${fmt(Math.min(...runs.map((r) => r.rps)))}–${fmt(Math.max(...runs.map((r) => r.rps)))} | ${p50.toFixed(2)} | ${(p99 / 1000).toFixed(2)} | ${ratio === null ? '' : ratio.toFixed(2)} | ${paired === null ? '' : `${runs.map((r, i) => (r.rps / base[i].rps).toFixed(2)).join(' ')} (${paired.toFixed(2)})`} | ${p99r === null ? '' : p99r.toFixed(2)} | ${cpuUs === null ? 'n/a' : cpuUs.toFixed(1)} | ${cpuRatio === null ? '' : cpuRatio.toFixed(2)} | ${cpu} | ${errs} / ${non2xx} |`,
      );
    }
  }
  // the checked targets one after the other, in many short pairs: the judged figure
  const paired = {};
  if (Object.keys(pairs).length > 0) {
    lines.push(
      '',
      `One after the other, judged: ${args.pairs} pairs of ${args.slice} runs, each a run of the target next to a run of ${sc.baseline} (which goes first alternates); the median of the pairs' ratios and their quartiles.`,
      '',
      `| workload | target | pairs | req/s ratio: median (quartiles) | p99 ratio: median (quartiles) | CPU/request ratio: median (quartiles) |`,
      '|---|---|---:|---:|---:|---:|',
    );
    const q = (xs) => {
      const [a, m, b] = quartiles(xs);
      return { m, text: `${m.toFixed(3)} (${a.toFixed(3)}–${b.toFixed(3)})` };
    };
    for (const [wl, byTarget] of Object.entries(pairs)) {
      for (const [t, list] of Object.entries(byTarget)) {
        const rps = q(list.map((x) => x.t.rps / x.base.rps));
        const p99 = q(list.map((x) => x.t.p99_us / x.base.p99_us));
        const cpu = list.every((x) => x.t.cpu_us && x.base.cpu_us) ? q(list.map((x) => x.t.cpu_us / x.base.cpu_us)).text : 'n/a';
        (paired[wl] ??= {})[t] = { rps: rps.m, p99: p99.m };
        lines.push(`| ${wl} | ${t} | ${list.length} | ${rps.text} | ${p99.text} | ${cpu} |`);
      }
    }
  }
  // the same targets loaded at the same time as the baseline
  const loadedTogether = {};
  if (Object.keys(together).length > 0) {
    lines.push(
      '',
      `Loaded at the same time as ${sc.baseline} (both servers on CPU 0, two wrk on CPU 1; ${args.rounds} rounds of ${args.duration}): the ratio of their req/s, and of their requests per CPU second of the server (user + system).`,
      '',
      `| workload | target | req/s | ${sc.baseline} req/s | ratio per round (median) | per CPU second, per round (median) | p99 ratio per round (median) |`,
      '|---|---|---:|---:|---:|---:|---:|',
    );
    for (const [wl, byTarget] of Object.entries(together)) {
      for (const [t, runs] of Object.entries(byTarget)) {
        const ratios = runs.map((x) => x.t.rps / x.base.rps);
        const perCpu = runs.every((x) => x.t.cpu_s && x.base.cpu_s) ? runs.map((x) => x.t.requests / x.t.cpu_s / (x.base.requests / x.base.cpu_s)) : null;
        const p99 = runs.map((x) => x.t.p99_us / x.base.p99_us);
        (loadedTogether[wl] ??= {})[t] = { ratio: median(ratios), perCpu: perCpu && median(perCpu), p99: median(p99) };
        const list = (xs) => `${xs.map((x) => x.toFixed(3)).join(' ')} (${median(xs).toFixed(3)})`;
        lines.push(
          `| ${wl} | ${t} | ${fmt(median(runs.map((x) => x.t.rps)))} | ${fmt(median(runs.map((x) => x.base.rps)))} | ${list(ratios)} | ${perCpu === null ? 'n/a' : list(perCpu)} | ${list(p99)} |`,
        );
      }
    }
  }
  if (sc.checks?.length) {
    lines.push('', '| check | measured | result |', '|---|---|---|');
    for (const c of sc.checks) {
      const s = summary[c.workload]?.[c.target];
      if (!s) continue;
      // one after the other, the judged statistic is the median ratio of the short pairs (when they
      // were run), else the median of the per-round ratios; the ratio of the medians of the rounds is
      // never judged: it compares runs made at different times
      const pr = paired[c.workload]?.[c.target];
      const oneRps = pr ? pr.rps : (s.paired ?? s.ratio);
      const oneP99 = pr ? pr.p99 : (s.pairedP99 ?? s.p99r);
      const oneText = (v, rounds, ofMedians) =>
        pr
          ? `median of ${args.pairs} pairs ${v.toFixed(2)}x (rounds: per round ${rounds === null ? '-' : `${rounds.toFixed(2)}x`}, ratio of medians ${ofMedians.toFixed(2)}x; not judged)`
          : rounds === null
            ? `${ofMedians.toFixed(2)}x`
            : `per round ${rounds.toFixed(2)}x (ratio of medians ${ofMedians.toFixed(2)}x, not judged)`;
      const tg = loadedTogether[c.workload]?.[c.target];
      if (c.minRatio !== undefined) {
        // every judged statistic must pass: one after the other and, when measured, loaded together
        // (req/s and per CPU second)
        const ok = oneRps >= c.minRatio && (!tg || (tg.ratio >= c.minRatio && (tg.perCpu === null || tg.perCpu >= c.minRatio)));
        const together = tg
          ? `loaded together: ${tg.ratio.toFixed(2)}x${tg.perCpu === null ? '' : `, per CPU second ${tg.perCpu.toFixed(2)}x`}; one after the other: `
          : '';
        lines.push(
          `| ${c.workload}: ${c.target} ≥ ${c.minRatio}x ${sc.baseline} req/s | ${together}${oneText(oneRps, s.paired, s.ratio)} | ${ok ? 'pass' : 'FAIL'} |`,
        );
      }
      if (c.maxP99Ratio !== undefined) {
        const ok = oneP99 <= c.maxP99Ratio && (!tg || tg.p99 <= c.maxP99Ratio);
        lines.push(
          `| ${c.workload}: ${c.target} p99 ≤ ${c.maxP99Ratio}x ${sc.baseline} | ${tg ? `loaded together: ${tg.p99.toFixed(2)}x; one after the other: ` : ''}${oneText(oneP99, s.pairedP99, s.p99r)} | ${ok ? 'pass' : 'FAIL'} |`,
        );
      }
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
    `Written by \`npm run bench\` (bench/run.mjs); each section says when, on which commit and with which command it was measured. Last written ${new Date().toISOString()}.`,
    '',
    `- machine of the last write: ${cpu}, ${cpus().length} CPUs, ${process.platform} ${process.arch}; node ${process.version}; ${wrkV.trim()}. Sections name their own machine when it was recorded (sections without one were measured on a 2-CPU AMD EPYC machine before 2026-12-07T19:00Z); ratios are within a section's run`,
    `- load: \`taskset -c 1 wrk -t1 -c${args.connections} -d${args.duration} --timeout 5s\` after a ${args.warmup} warm-up per target and workload; ${args.rounds} rounds, targets interleaved in each round, in alternating order; medians over rounds`,
    `- pinning: the server under test on CPU 0; wrk and the upstream (bench/upstream.mjs) on CPU 1. The machine is shared and noisy: compare ratios within a run, not absolute numbers.`,
    `- ratio = median req/s of the target / median req/s of the scenario's baseline in the same run; p99 ratio likewise. Per-round ratios: each round's req/s against the baseline measured next to it in that round (the order of the targets alternates between rounds), and their median. Both are shown, not judged: the ratio of medians compares runs made at different times, and five rounds are too few against this machine's noise (below)`,
    `- one after the other, a check judges ${args.pairs} pairs of ${args.slice} runs: in each pair the target and its baseline run one right after the other (which goes first alternates), and the check takes the median of the pairs' ratios. Why many short pairs and not a few long rounds: other guests on this host change its speed from one second to the next, and longer runs hardly average it out (ratios of one build within one run: 0.63x to 1.36x in 5 s rounds, 0.65x to 1.34x in 1 s pairs), so the median of five rounds moved between 0.81x and 0.98x from run to run of the same build. Resampling the measured ratios, the median of 40 pairs of 1 s spreads about half as much as the median of five 5 s rounds (standard deviation 0.043 against 0.078)`,
    '- req/s checks are also measured with the target loaded at the same time as its baseline (both servers on CPU 0, each with its own wrk on CPU 1), in rounds of their own: both servers see the same machine. Sharing the core costs each server about twice the CPU per request (they evict each other from the caches), which weighs more on the server with more code and data, so this figure leans against the target. A req/s check passes only when every judged statistic passes: the median ratio of the pairs one after the other, and the median ratios of req/s and of requests per CPU second together (the last corrects for a server that takes more than its share of the core). A p99 check passes likewise only when it holds one after the other (median ratio of the pairs) and loaded together (the median of the per-round p99 ratios)',
    '- CPU µs/request = CPU time (user + system, from /proc) the server under test used during the measured run, divided by the requests served: less sensitive than req/s to other load on a shared machine; CPU ratio compares it with the baseline (lower is better)',
    '',
  ].join('\n');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const kept = [];
  for (const m of old.matchAll(/<!-- scenario:([\w-]+) -->[\s\S]*?<!-- \/scenario:\1 -->/g)) if (!sections[m[1]]) kept.push(m[0]);
  const order = Object.keys(SCENARIOS);
  // sections other scripts write (bench/report.mjs) go last, kept as they are
  const rank = (s) => {
    const i = order.indexOf(/scenario:([\w-]+)/.exec(s)[1]);
    return i < 0 ? order.length : i;
  };
  const all = [...kept, ...Object.values(sections)].sort((a, b) => rank(a) - rank(b));
  writeFileSync(file, `${header}\n${all.join('\n\n')}\n`);
  console.error(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  stopAll();
  process.exit(1);
});
