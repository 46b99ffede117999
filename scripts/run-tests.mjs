#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's test runner.
// Files run in parallel subprocesses (2 at a time: the machine has 2 cores and tests use real
// servers); pass file filters as arguments: `node scripts/run-tests.mjs waf auth`.
// The run provides its own services (scripts/test-services.mjs: a private redis-server on a free
// loopback port, its URL in PORTCULLIS_TEST_REDIS_URL) and stops them at the end, also on SIGINT,
// SIGTERM or SIGHUP. `--preflight` only checks that their binaries are installed (npm's pretest).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { compareSnapshots, missingServices, redisSnapshot, startServices } from './test-services.mjs';

const args = process.argv.slice(2);
const missing = missingServices();
if (missing.length > 0) {
  for (const line of missing) console.error(line);
  process.exit(1);
}
if (args[0] === '--preflight') process.exit(0);

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(dist);
const filters = args;
const selected = files.filter((f) => filters.length === 0 || filters.some((x) => relative(dist, f).includes(x))).sort();
if (selected.length === 0) {
  console.error('no test files selected');
  process.exit(1);
}

/** @type {import('./test-services.mjs').RunningService[]} */
let services = [];
/** @type {import('node:child_process').ChildProcess | null} */
let child = null;
let interrupted = null;
// the synchronous last resort (an exception in this script): no service outlives the runner
process.on('exit', () => {
  for (const s of services) s.kill();
});
/** @param {string} why @param {number} status the run's exit status */
function interrupt(why, status) {
  if (interrupted !== null) return;
  interrupted = status;
  console.error(`test run: ${why}, stopping the tests and the test services`);
  // before the tests are spawned, the start-up below stops at its next step (a redis-server
  // being started is not in `services` yet)
  if (child === null) return;
  killTests('SIGTERM');
  setTimeout(() => killTests('SIGKILL'), 10_000).unref();
}
for (const [sig, n] of [
  ['SIGHUP', 1],
  ['SIGINT', 2],
  ['SIGTERM', 15],
]) {
  process.on(sig, () => interrupt(sig, 128 + n));
}
// npm does not pass every signal on (SIGHUP) and may exit before its script: a runner whose parent
// has gone is interrupted too, rather than running on with its services.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) interrupt('the parent process exited', 129);
}, 500).unref();

// The test files run in their own process group, so that stopping it also stops what they
// started (gateway processes, per-test redis-servers) when a test did not get to stop it.
function killTests(signal) {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

async function finish(code) {
  await Promise.all(services.map((s) => s.stop()));
  services = [];
  process.exit(code);
}

// A Redis on the default port that the run did not start must come out as it went in (the port is
// another one only in test/integration/test-run.test.ts).
const guardPort = Number(process.env.PORTCULLIS_TEST_GUARD_REDIS_PORT ?? 6379);
const foreignBefore = await redisSnapshot(guardPort);
try {
  services = await startServices();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  await finish(1);
}
if (interrupted !== null) await finish(interrupted);
const env = { ...process.env };
// set when this runner is started from a test file: node --test would then skip every file
delete env.NODE_TEST_CONTEXT;
for (const s of services) {
  Object.assign(env, s.env);
  console.error(`test run: ${s.name} (pid ${s.pid}) at ${Object.values(s.env).join(' ')}`);
}

// PORTCULLIS_COVERAGE=<min line %>: V8 coverage of every process the tests start (gateway
// processes included), reported by c8 on src/ outside the CLI at the end; under the minimum fails the run
const coverageMin = process.env.PORTCULLIS_COVERAGE === undefined ? null : Number(process.env.PORTCULLIS_COVERAGE);
const coverageDir = coverageMin === null ? null : mkdtempSync(join(tmpdir(), 'portcullis-coverage-'));
if (coverageDir !== null) env.NODE_V8_COVERAGE = coverageDir;
delete env.PORTCULLIS_COVERAGE; // a runner started by a test (test-run.test.ts) only adds to this run's coverage

/** The coverage report (c8 on the compiled files, mapped to src/ by the source maps); false when under the minimum. */
function coverageReport() {
  if (coverageDir === null) return true;
  const args = ['report', '--all', '--temp-directory', coverageDir, '--reporter', 'text-summary', '--include', 'dist/src/**'];
  for (const x of ['dist/src/cli/**', '**/*.test.js', '**/*.d.ts']) args.push('--exclude', x);
  if (Number.isFinite(coverageMin) && coverageMin > 0) args.push('--check-coverage', '--lines', String(coverageMin));
  const r = spawnSync(join(root, 'node_modules', '.bin', 'c8'), args, { cwd: root, stdio: 'inherit' });
  rmSync(coverageDir, { recursive: true, force: true });
  console.error(`test run: coverage of src/ (outside src/cli) ${r.status === 0 ? 'reported' : `under ${coverageMin}% of lines, or not measured`}`);
  return r.status === 0;
}

const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// a hang guard per test file: 300 s, since the differential suite (10,000 generated requests to four
// frameworks, then 2,000 over h2c) takes about 130 s under V8 coverage and more on a loaded machine
child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-timeout=300000', ...selected], {
  stdio: 'inherit',
  cwd: root,
  env,
  detached: true,
});
console.error(`test run: test files in process group ${child.pid}`);
child.on('exit', async (code, signal) => {
  killTests('SIGKILL'); // whatever a test file left running in the group
  let status = code ?? (signal ? 1 : 0);
  if (interrupted !== null) status = interrupted;
  if (interrupted === null && !coverageReport()) status = status || 1;
  await Promise.all(services.map((s) => s.stop()));
  services = [];
  const report = compareSnapshots(foreignBefore, await redisSnapshot(guardPort), `127.0.0.1:${guardPort}`);
  if (report !== null) {
    console.error(`test run: ${report.line}`);
    // a Redis someone else runs may be written by its owner during the run: the run fails only
    // when .ci/run started it for the run (PORTCULLIS_TEST_GUARD_REDIS=fail)
    if (report.changed) {
      console.error('test run: that Redis changed during the run; the tests must not write to it');
      if (process.env.PORTCULLIS_TEST_GUARD_REDIS === 'fail') status = status || 1;
    }
  }
  process.exit(status);
});
