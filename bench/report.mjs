#!/usr/bin/env node
// `portcullis report` over 1,000,000 generated access-log lines: wall time and peak RSS of the real
// CLI (a child process), 3 runs. The lines are written by the gateway's own formatter
// (LineFormatter) from records mixing tenants, routes, status codes, auth failures, rate limits
// and WAF blocks with their annotations, so that the report parses what a gateway writes.
//
//   npm run build && node bench/report.mjs [--lines 1000000] [--runs 3] [--write]
//
// --write replaces the "Compliance report" section of bench/results.md with the figures.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import { LineFormatter } from '../dist/src/observe/access-log.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const { values: args } = parseArgs({
  options: { lines: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '3' }, write: { type: 'boolean', default: false } },
});
const N = Number(args.lines);
const RUNS = Number(args.runs);

// a small deterministic generator (xorshift), so that every run reads the same file
let seed = 0x9e3779b9;
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rand() * a.length)];

const NO_REDACT = { redact: (q) => q, secretTarget: () => false };
const TENANTS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', null];
const ROUTES = ['orders', 'orders-item', 'users', 'login', 'search', 'reports', 'health'];
const AUTH_CODES = ['PC_ERR_AUTH_REQUIRED', 'PC_ERR_AUTH_TOKEN_EXPIRED', 'PC_ERR_AUTH_TOKEN_SIGNATURE', 'PC_ERR_AUTH_APIKEY_INVALID'];
const WAF = [
  { rules: ['942100'], tags: ['attack-sqli', 'injection'], target: 'query:q', matched: "1' OR '1'='1" },
  { rules: ['941100'], tags: ['attack-xss', 'injection'], target: 'query:name', matched: '<script>alert(1)</script>' },
  { rules: ['930100'], tags: ['attack-lfi', 'injection'], target: 'uri', matched: '../../etc/passwd' },
  { rules: ['932100'], tags: ['attack-rce', 'injection'], target: 'body:cmd', matched: '; cat /etc/passwd' },
];

function record(i, time) {
  const r = rand();
  const tenant = pick(TENANTS);
  const route = pick(ROUTES);
  const base = {
    time,
    id: `req-${i.toString(36)}-${Math.floor(rand() * 1e9).toString(36)}`,
    clientIp: `10.${(i >>> 14) & 63}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`,
    method: rand() < 0.8 ? 'GET' : 'POST',
    host: 'api.example.com',
    path: `/v1/${route}/${Math.floor(rand() * 100000)}`,
    query: rand() < 0.3 ? `page=${Math.floor(rand() * 50)}&sort=desc` : '',
    redact: NO_REDACT,
    routeId: route,
    status: 200,
    bytesIn: rand() < 0.2 ? 512 : 0,
    bytesOut: 1000 + Math.floor(rand() * 4000),
    latencyMs: 1 + rand() * 40,
    upstream: '127.0.0.1:8081',
    upstreamLatencyMs: rand() * 35,
    consumer: tenant ? `${tenant}-client-${Math.floor(rand() * 20)}` : null,
    tenant,
    outcome: { decision: 'allowed', stage: null, code: null, reason: null },
    listener: 'main',
    monitored: [],
    annotations: null,
  };
  if (r < 0.8) return base;
  if (r < 0.88) {
    const code = pick(AUTH_CODES);
    return {
      ...base,
      status: 401,
      consumer: null,
      tenant: null,
      upstream: null,
      upstreamLatencyMs: null,
      outcome: { decision: 'denied', stage: 'auth', code, reason: 'bad credentials' },
    };
  }
  if (r < 0.93)
    return {
      ...base,
      status: 429,
      upstream: null,
      upstreamLatencyMs: null,
      outcome: { decision: 'denied', stage: 'limit.rate', code: 'PC_ERR_RATE_LIMITED', reason: null },
    };
  if (r < 0.97) {
    const w = pick(WAF);
    return {
      ...base,
      status: 403,
      upstream: null,
      upstreamLatencyMs: null,
      outcome: { decision: 'denied', stage: 'waf', code: 'PC_ERR_WAF_BLOCKED', reason: `waf score 5: ${w.rules[0]}` },
      annotations: {
        waf: {
          score: 5,
          blocked: true,
          rules: w.rules,
          tags: w.tags,
          targets: [w.target],
          matches: [{ rule: w.rules[0], target: w.target, matched: w.matched }],
        },
      },
    };
  }
  if (r < 0.99)
    return {
      ...base,
      status: 400,
      upstream: null,
      upstreamLatencyMs: null,
      outcome: { decision: 'denied', stage: 'validate', code: 'PC_ERR_VALIDATION', reason: 'body/name: must be string' },
    };
  return {
    ...base,
    status: 404,
    routeId: null,
    upstream: null,
    upstreamLatencyMs: null,
    outcome: { decision: 'denied', stage: 'route', code: 'PC_ERR_ROUTE_NOT_FOUND', reason: null },
  };
}

async function generate(file) {
  const out = createWriteStream(file);
  const f = new LineFormatter();
  // one quarter (90 days) of traffic, in time order
  const start = Date.parse('2026-07-01T00:00:00Z');
  const step = (90 * 86_400_000) / N;
  let buf = '';
  for (let i = 0; i < N; i++) {
    buf += f.format(record(i, Math.floor(start + i * step)));
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

/** Runs the CLI under /usr/bin/time -v when present (peak RSS of the child), else reads it from the child itself. */
function runReport(file, outFile) {
  const cli = join(ROOT, 'bin', 'portcullis.js');
  const argv = ['report', '--from', '2026-07-01', '--to', '2026-10-01', '--access-log', file, '--format', 'json', '--output', outFile];
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-v', process.execPath, cli, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
      if (code !== 0 || !m) return reject(new Error(`report exited ${code}: ${err.slice(-2000)}`));
      resolve({ wall, rssMb: Number(m[1]) / 1024 });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'portcullis-report-bench-'));
const file = join(dir, 'access.log');
try {
  const g0 = Date.now();
  await generate(file);
  const size = statSync(file).size;
  console.log(`generated ${N} lines, ${(size / 1048576).toFixed(0)} MiB, in ${((Date.now() - g0) / 1000).toFixed(1)} s: ${file}`);
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await runReport(file, join(dir, 'report.json'));
    runs.push(r);
    console.log(`run ${i + 1}: ${r.wall.toFixed(2)} s wall, peak RSS ${r.rssMb.toFixed(0)} MB`);
  }
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
  if (report.traffic.requests !== N) throw new Error(`the report counted ${report.traffic.requests} requests of ${N}`);
  console.log(
    `report: ${report.traffic.requests} requests, ${report.refusals.total} refused, ${report.authFailures.total} auth failures, ${report.waf.total} WAF blocks`,
  );
  if (args.write) {
    const cpu = cpus()[0]?.model ?? 'unknown';
    const section = `## Compliance report (issue 21): \`portcullis report\` over ${N.toLocaleString('en')} access-log lines

Command: \`npm run build && node bench/report.mjs --write\`: generates ${N.toLocaleString('en')} lines (${(size / 1048576).toFixed(0)} MiB, one quarter
of traffic: 6 tenants, 7 routes, 20% refused: auth failures, rate limits, WAF blocks with their
annotations, validation, unknown routes) with the gateway's own line formatter, then runs the real
CLI, \`portcullis report --from 2026-07-01 --to 2026-10-01 --access-log FILE --format json\`, as a child
process under \`/usr/bin/time -v\` (wall time and maximum resident set size of the child). Machine:
\`nproc\` ${cpus().length}, ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; other work ran on the machine at the same time.

| run | wall time | peak RSS |
|---|---|---|
${runs.map((r, i) => `| ${i + 1} | ${r.wall.toFixed(2)} s | ${r.rssMb.toFixed(0)} MB |`).join('\n')}

Targets (issue 21): under 60 s and under 200 MB. Counted: ${report.traffic.requests} requests, ${report.refusals.total} refused,
${report.authFailures.total} authentication failures, ${report.waf.total} WAF blocks.
`;
    const resultsPath = join(HERE, 'results.md');
    const text = readFileSync(resultsPath, 'utf8');
    // between markers, as bench/run.mjs writes its sections: its rewrites keep this one
    const marked = `<!-- scenario:report -->\n${section.trimEnd()}\n<!-- /scenario:report -->`;
    const re = /(?:<!-- scenario:report -->\n)?## Compliance report \(issue 21\)[^\n]*\n[\s\S]*?(?:<!-- \/scenario:report -->|(?=\n## |\n<!-- scenario:|$))/;
    writeFileSync(resultsPath, re.test(text) ? text.replace(re, marked) : `${text.trimEnd()}\n\n${marked}\n`);
    console.log(`wrote ${resultsPath}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
