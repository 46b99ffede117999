/**
 * Benchmark of the validation stage's cost (issue 4): POST of the 1 KB JSON body of
 * bench/wrk/body-1k.json through an operation generated from an OpenAPI document (request
 * validation on) against the same routes written by hand (no validation), in the same run, with
 * the same harness conventions as bench/run.mjs: each gateway is a `portcullis start` process
 * pinned to CPU 0; wrk and the upstream (bench/upstream.mjs) on CPU 1; targets interleaved in
 * each round; medians over rounds; CPU µs per request from /proc (robust to other load).
 *
 *   npm run build && node dist/bench/validate.js [rounds] [duration] [connections]
 *
 * Prints a markdown section for bench/results.md.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAGES } from '../src/stages/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HERE = join(ROOT, 'bench', 'configs', 'validate');
const BENCH = join(ROOT, 'bench');
const rounds = Number(process.argv[2] ?? 3);
const duration = process.argv[3] ?? '5s';
const connections = Number(process.argv[4] ?? 64);

const haveTaskset = !spawnSync('taskset', ['-c', '0', 'true']).error;
const pin = (cpu: number, cmd: string, argv: string[]): [string, string[]] => (haveTaskset ? ['taskset', ['-c', String(cpu), cmd, ...argv]] : [cmd, argv]);
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGTERM');
});

function start(cpu: number, cmd: string, argv: string[], env: Record<string, string> = {}): ChildProcess {
  const [c, a] = pin(cpu, cmd, argv);
  const child = spawn(c, a, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = connect(port, '127.0.0.1', () => {
        c.destroy();
        r(true);
      });
      c.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} did not open`);
}

function procCpu(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(v[11]) + Number(v[12])) / 100;
}

interface Run {
  rps: number;
  p99_us: number;
  cpu_us: number;
  non2xx: number;
  errors: number;
}

function wrk(port: number, pid: number, dur: string): Run {
  const env = { ...process.env, BENCH_BODY: join(BENCH, 'wrk', 'body-1k.json') };
  const [c, a] = pin(1, 'wrk', [
    '-t1',
    `-c${connections}`,
    `-d${dur}`,
    '--timeout',
    '5s',
    '-s',
    join(BENCH, 'wrk', 'post.lua'),
    `http://127.0.0.1:${port}/api/items`,
  ]);
  const cpu0 = procCpu(pid);
  const out = execFileSync(c, a, { env, encoding: 'utf8', maxBuffer: 1 << 20 });
  const cpu1 = procCpu(pid);
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk gave no summary:\n${out}`);
  const r = JSON.parse(line.slice(11)) as Record<string, number>;
  const requests = r['requests'] ?? 0;
  return {
    rps: r['rps'] ?? 0,
    p99_us: r['p99_us'] ?? 0,
    cpu_us: requests > 0 ? ((cpu1 - cpu0) * 1e6) / requests : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    errors: (r['err_connect'] ?? 0) + (r['err_read'] ?? 0) + (r['err_write'] ?? 0) + (r['err_timeout'] ?? 0),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  if (spawnSync('wrk', ['--version']).error) throw new Error('wrk is required: apt-get install -y wrk');
  const work = mkdtempSync(join(tmpdir(), 'pc-bench-validate-'));
  const upstreamPort = await freePort();
  start(1, process.execPath, [join(BENCH, 'upstream.mjs')], { PORT: String(upstreamPort) });
  await waitPort(upstreamPort);
  const routeKeys = new Set(STAGES.flatMap((m) => Object.keys(m.schema?.route ?? {})));
  const variants: { label: string; extra: string }[] = [{ label: 'all stages at defaults', extra: '' }];
  if (routeKeys.has('waf')) variants.push({ label: 'WAF off', extra: 'waf: off' });
  const targets: { name: string; variant: string; port: number; pid: number }[] = [];
  for (const v of variants) {
    for (const [name, file] of [
      ['plain', 'plain.yaml'],
      ['validated', 'validated.yaml'],
    ] as const) {
      const port = await freePort();
      const vars: Record<string, string> = {
        PORT: String(port),
        ADMIN_PORT: String(await freePort()),
        UPSTREAM_PORT: String(upstreamPort),
        WORK: work,
        ROOT: ROOT.replace(/\/$/, ''),
        AUTH_NONE: routeKeys.has('auth') ? ', auth: none' : '',
        ROUTE_EXTRA: v.extra === '' ? '' : `, ${v.extra}`,
        DEFAULTS: v.extra,
      };
      const text = readFileSync(join(HERE, file), 'utf8').replace(/\{\{(\w+)\}\}/g, (_m, k: string) => vars[k] ?? '');
      const cfg = join(work, `${targets.length}-${file}`);
      writeFileSync(cfg, text);
      const proc = start(0, process.execPath, [join(ROOT, 'bin', 'portcullis.js'), 'start', '-c', cfg]);
      await waitPort(port);
      targets.push({ name, variant: v.label, port, pid: proc.pid as number });
    }
  }
  for (const t of targets) wrk(t.port, t.pid, '1s'); // warm-up
  const key = (t: { name: string; variant: string }) => `${t.variant}|${t.name}`;
  const runs = new Map<string, Run[]>(targets.map((t) => [key(t), []]));
  for (let r = 0; r < rounds; r++) for (const t of targets) runs.get(key(t))?.push(wrk(t.port, t.pid, duration));
  const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const rows: string[] = [];
  const checks: string[] = [];
  for (const v of variants) {
    const plain = runs.get(`${v.label}|plain`) as Run[];
    const validated = runs.get(`${v.label}|validated`) as Run[];
    for (const [name, xs] of [
      ['plain', plain],
      ['validated', validated],
    ] as const) {
      const rps = xs.map((x) => x.rps);
      rows.push(
        `| ${v.label} | ${name} | ${fmt(median(rps))} | ${fmt(Math.min(...rps))}–${fmt(Math.max(...rps))} | ${fmt(median(xs.map((x) => x.p99_us)) / 1000, 2)} | ${fmt(median(xs.map((x) => x.cpu_us)), 1)} | ${xs.reduce((a, x) => a + x.errors, 0)} / ${xs.reduce((a, x) => a + x.non2xx, 0)} |`,
      );
    }
    const rpsRatio = median(validated.map((x) => x.rps)) / median(plain.map((x) => x.rps));
    const cpuRatio = median(validated.map((x) => x.cpu_us)) / median(plain.map((x) => x.cpu_us));
    checks.push(`| ${v.label}: validated ≥ 0.85x plain req/s | ${rpsRatio.toFixed(2)}x | ${rpsRatio >= 0.85 ? 'pass' : 'FAIL'} |`);
    checks.push(`| ${v.label}: CPU µs/request validated / plain (informative) | ${cpuRatio.toFixed(2)}x | - |`);
  }
  const lines = [
    '<!-- scenario:validate -->',
    '## Validation (issue 4): OpenAPI request validation vs the same route without it',
    '',
    `POST of bench/wrk/body-1k.json (1 KB JSON) to \`/api/items\` through (a) a hand-written route ("plain") and (b) the route generated from bench/configs/validate/openapi.yaml ("validated": safe JSON parse, Ajv schema with patterns, additionalProperties false), each with every other registered stage at its defaults, and again with the WAF off on both. \`node dist/bench/validate.js ${rounds} ${duration} ${connections}\`: wrk -t1 -c${connections} -d${duration}, ${rounds} rounds with targets interleaved, gateways on CPU 0, wrk and the upstream on CPU 1, medians over rounds; ${new Date().toISOString()}. The machine is shared and noisy: compare ratios within the run.`,
    '',
    '| variant | target | req/s (median) | min–max | p99 ms | CPU µs/request | errors / non-2xx |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    '| check | measured | result |',
    '|---|---|---|',
    ...checks,
    '',
    '<!-- /scenario:validate -->',
  ];
  console.log(lines.join('\n'));
  if (existsSync(work)) for (const c of children) c.kill('SIGTERM');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
