/**
 * The test run's own services (scripts/run-tests.mjs, scripts/test-services.mjs): a missing
 * redis-server stops the run at once with one line; an interrupted run stops its private
 * redis-server and the test files' process group; the check of a Redis the run did not start sees
 * a write. The runner here is a nested one with its own private Redis, on other free ports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../rate-limit/redis-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const RUNNER = join(ROOT, 'scripts', 'run-tests.mjs');
// the nested runner is started from a test file: it must still run its files (NODE_TEST_CONTEXT)
const ENV = process.env;

type Snapshot = null | { error: string } | { keys: number; expires: number; changes: number; lastSave: number };
interface Services {
  redisSnapshot(port: number): Promise<Snapshot>;
  compareSnapshots(before: Snapshot, after: Snapshot, where?: string): { line: string; changed: boolean } | null;
}
const services = async (): Promise<Services> => (await import(pathToFileURL(join(ROOT, 'scripts', 'test-services.mjs')).href)) as Services;

function run(args: string[], env: NodeJS.ProcessEnv, onStderr: (text: string, child: ReturnType<typeof spawn>) => void = () => {}) {
  const child = spawn(process.execPath, [RUNNER, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr(stderr, child);
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
};
const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });

test('without redis-server on PATH the run stops before any test with one line naming the install commands', async () => {
  const bin = mkdtempSync(join(tmpdir(), 'portcullis-nopath-'));
  try {
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = await run([], { ...ENV, PATH: bin });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /redis-server .*not found on PATH.*apt-get install redis-server.*brew install redis/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test('SIGTERM to the runner stops its private redis-server and the test files it started', async () => {
  let sent = false;
  const r = await run(['rate-limit/gateway-redis.test.js'], ENV, (text, child) => {
    if (!sent && text.includes('process group')) {
      sent = true;
      child.kill('SIGTERM');
    }
  });
  const redis = /test run: redis \(pid (\d+)\) at redis:\/\/127\.0\.0\.1:(\d+)/.exec(r.stderr);
  const group = /process group (\d+)/.exec(r.stderr);
  assert.ok(redis && group, r.stderr);
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /SIGTERM, stopping the tests and the test services/);
  assert.equal(alive(Number(redis[1])), false, 'the private redis-server is gone');
  assert.equal(await refused(Number(redis[2])), true, 'nothing listens on its port');
  assert.equal(alive(-Number(group[1])), false, 'the test files’ process group is gone');
});

test('a runner whose parent process is killed stops its redis-server and the test files too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-orphan-'));
  const log = join(dir, 'stderr');
  // sh starts the runner in the background and waits; SIGKILL to sh leaves the runner an orphan
  const sh = spawn('sh', ['-c', `"${process.execPath}" "${RUNNER}" rate-limit/gateway-redis.test.js 2>"${log}" >/dev/null & wait`], {
    cwd: ROOT,
    env: ENV,
    stdio: 'ignore',
  });
  try {
    let text = '';
    for (let i = 0; i < 600 && !text.includes('process group'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    }
    sh.kill('SIGKILL');
    const redis = /test run: redis \(pid (\d+)\)/.exec(text);
    const group = /process group (\d+)/.exec(text);
    assert.ok(redis && group, text);
    for (let i = 0; i < 200 && (alive(Number(redis[1])) || alive(-Number(group[1]))); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(Number(redis[1])), false, 'the private redis-server is gone');
    assert.equal(alive(-Number(group[1])), false, 'the test files’ process group is gone');
    assert.match(readFileSync(log, 'utf8'), /the parent process exited, stopping the tests and the test services/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the check of a Redis the run did not start counts its keys and sees a write', async () => {
  const { redisSnapshot, compareSnapshots } = await services();
  const other = await startPrivateRedis();
  const client = new Redis(other.url);
  try {
    await client.set('kept', '1');
    const before = await redisSnapshot(other.port);
    const same = compareSnapshots(before, await redisSnapshot(other.port));
    assert.equal(same?.changed, false, same?.line);
    assert.match(same?.line ?? '', /keys 1 -> 1 \(0 expired or evicted meanwhile\), with expiry 0 -> 0, writes during the run: 0/);
    await client.set('kept', '2'); // a write that leaves the key count as it was
    const written = compareSnapshots(before, await redisSnapshot(other.port));
    assert.equal(written?.changed, true, written?.line);
    assert.match(written?.line ?? '', /keys 1 -> 1 .*writes during the run: 1/);
    // a key that expires by itself between the two readings is no change
    await client.set('short', '1', 'PX', 100);
    const withShort = await redisSnapshot(other.port);
    for (let i = 0; i < 100 && (await client.exists('short')) === 1; i++) await new Promise((r) => setTimeout(r, 20));
    const expired = compareSnapshots(withShort, await redisSnapshot(other.port));
    assert.equal(expired?.changed, false, expired?.line);
    assert.match(expired?.line ?? '', /keys 2 -> 1 \(1 expired or evicted meanwhile\)/);
    await client.set('added', '1', 'EX', 60);
    assert.match(compareSnapshots(before, await redisSnapshot(other.port))?.line ?? '', /keys 1 -> 2 \(1 expired or evicted meanwhile\), with expiry 0 -> 1/);
    client.disconnect();
    await other.stop();
    assert.equal(await redisSnapshot(other.port), null, 'nothing listening: nothing to check');
  } finally {
    client.disconnect();
    await other.stop();
  }
});

test('a write to the guarded Redis during a run is reported, and fails the run when the guard says fail', async () => {
  const other = await startPrivateRedis();
  const client = new Redis(other.url);
  try {
    await client.set('kept', '1');
    const env = { ...ENV, PORTCULLIS_TEST_GUARD_REDIS_PORT: String(other.port), PORTCULLIS_TEST_GUARD_REDIS: 'fail' };
    const clean = await run(['rate-limit/gateway-redis.test.js'], env);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(
      clean.stderr,
      new RegExp(
        `127\\.0\\.0\\.1:${other.port} \\(not started by the tests\\): keys 1 -> 1 \\(0 expired or evicted meanwhile\\), with expiry 0 -> 0, writes during the run: 0`,
      ),
    );
    let written: Promise<unknown> | null = null;
    const dirty = await run(['rate-limit/gateway-redis.test.js'], env, (text) => {
      if (written === null && text.includes('process group')) written = client.set('kept', '2');
    });
    await written;
    assert.equal(dirty.code, 1, dirty.stderr);
    assert.match(
      dirty.stderr,
      /keys 1 -> 1 \(0 expired or evicted meanwhile\), with expiry 0 -> 0, writes during the run: 1\n.*that Redis changed during the run/,
    );
  } finally {
    client.disconnect();
    await other.stop();
  }
});
