// The services the test run provides (scripts/run-tests.mjs): each one is started on a free
// loopback port before the first test file, handed to the tests through an environment variable,
// and stopped after the last one, also when the run is interrupted. Plain JavaScript, not built:
// the runner checks and starts services before `npm run build` has produced dist/.
// Adding a service: one entry in SERVICES (binaries, install hint, start) and a helper in
// test/helpers/ that reads its variable; docs/testing.md lists them.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The variable that carries the private Redis server's URL to the tests (test/helpers/redis.ts). */
export const REDIS_URL_VAR = 'PORTCULLIS_TEST_REDIS_URL';

/**
 * @typedef {{ name: string, pid: number, env: Record<string, string>, stop(): Promise<void>, kill(): void }} RunningService
 * @typedef {{ name: string, binaries: string[], install: string, start(): Promise<RunningService> }} Service
 */

/** @type {Service[]} */
export const SERVICES = [
  {
    name: 'Redis',
    // redis-cli: the cluster tests join their nodes with `redis-cli --cluster create`
    binaries: ['redis-server', 'redis-cli'],
    install: 'apt-get install redis-server (Debian/Ubuntu) or brew install redis (macOS)',
    start: startRedis,
  },
  {
    name: 'Redis Cluster',
    // the same binaries as Redis above, checked (and reported missing) once, there
    binaries: [],
    install: 'apt-get install redis-server (Debian/Ubuntu) or brew install redis (macOS)',
    start: startRedisCluster,
  },
];

/** The variable that carries the private Redis Cluster's seed nodes, comma-separated `redis://host:port` (test/helpers/redis.ts). */
export const REDIS_CLUSTER_VAR = 'PORTCULLIS_TEST_REDIS_CLUSTER_NODES';

/** `name` as an executable file in a PATH directory, or null. */
export function onPath(name, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** One line per service whose binary is not installed (empty when all are). */
export function missingServices(path = process.env.PATH) {
  return SERVICES.flatMap((s) => {
    const absent = s.binaries.filter((b) => onPath(b, path) === null);
    return absent.length === 0 ? [] : [`test run: ${absent.join(' and ')} not found on PATH (the tests start their own ${s.name}); install it: ${s.install}`];
  });
}

/** Starts every service; when one fails, the ones already started are stopped again. */
export async function startServices() {
  /** @type {RunningService[]} */
  const running = [];
  try {
    for (const s of SERVICES) running.push(await s.start());
  } catch (err) {
    await Promise.all(running.map((r) => r.stop()));
    throw err;
  }
  return running;
}

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * redis-server on 127.0.0.1:`port` (no RDB or AOF, `dir` its working directory, `extra` arguments);
 * `ready` is true once it accepts connections, else why not (a port taken: "in use").
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, ready: true | string }>}
 */
async function spawnRedis(port, dir, extra) {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', '', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ready = await new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(`no "Ready to accept connections" within 10 s: ${out.slice(-500)}`), 10_000);
    const onData = (d) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve(err.message);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(`exited (${code ?? signal}): ${out.slice(-500)}`);
    });
  });
  if (ready === true) {
    child.stdout.resume();
    child.stderr.resume();
  }
  return { child, ready };
}

/**
 * redis-server on 127.0.0.1 and a free port, no persistence (no RDB, no AOF), its working
 * directory a fresh temporary one. The port is free when chosen but may be taken before Redis binds
 * it: then another port is tried.
 * @returns {Promise<RunningService>}
 */
async function startRedis() {
  let last = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-test-redis-'));
    const { child, ready } = await spawnRedis(port, dir, []);
    if (ready === true) {
      return running('redis', child, dir, { [REDIS_URL_VAR]: `redis://127.0.0.1:${port}` });
    }
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    last = String(ready);
    if (!last.includes('in use')) break;
  }
  throw new Error(`test run: redis-server did not start: ${last.trim()}`);
}

/**
 * Three redis-server masters in cluster mode on free loopback ports (no persistence, no replicas,
 * `cluster-require-full-coverage no`: with one master down the others keep answering for their
 * slots), joined with `redis-cli --cluster create`; ready once every node reports `cluster_state:ok`.
 * @returns {Promise<RunningService>}
 */
async function startRedisCluster() {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-test-rcluster-'));
  /** @type {import('node:child_process').ChildProcess[]} */
  const children = [];
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  try {
    const ports = [];
    for (let n = 0; n < 3; n++) {
      let started = null;
      for (let attempt = 0; attempt < 5 && started === null; attempt++) {
        const port = await freePort();
        const { child, ready } = await spawnRedis(port, dir, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-require-full-coverage',
          'no',
        ]);
        if (ready === true) {
          children.push(child);
          started = port;
        } else {
          child.kill('SIGKILL');
          if (!String(ready).includes('in use')) throw new Error(`test run: redis-server (cluster) did not start: ${String(ready).trim()}`);
        }
      }
      if (started === null) throw new Error('test run: redis-server (cluster) found no free port');
      ports.push(started);
    }
    const cli = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    if (cli.status !== 0) throw new Error(`test run: redis-cli --cluster create failed: ${cli.stdout}${cli.stderr}`);
    for (const port of ports) {
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        ok = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' }).stdout.includes('cluster_state:ok');
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      if (!ok) throw new Error(`test run: Redis Cluster node ${port} not ok within 10 s`);
    }
    const exited = Promise.all(
      children.map(
        (c) => new Promise((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve(undefined) : c.once('exit', () => resolve(undefined)))),
      ),
    );
    return {
      name: 'redis-cluster',
      pid: children[0]?.pid ?? 0,
      env: { [REDIS_CLUSTER_VAR]: ports.map((p) => `redis://127.0.0.1:${p}`).join(',') },
      async stop() {
        for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
        const timer = setTimeout(killAll, 3000);
        await exited;
        clearTimeout(timer);
        rmSync(dir, { recursive: true, force: true });
      },
      kill() {
        killAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    killAll();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * @param {string} name
 * @param {import('node:child_process').ChildProcess} child
 * @param {string} dir
 * @param {Record<string, string>} env
 * @returns {RunningService}
 */
function running(name, child, dir, env) {
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
    else child.once('exit', () => resolve(undefined));
  });
  return {
    name,
    pid: child.pid ?? 0,
    env,
    // SIGTERM: Redis shuts down cleanly (nothing to save); SIGKILL after 3 s if it has not.
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
    // the synchronous last resort, for process.on('exit')
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The keys (and, when Redis has not saved in between, the count of writes) of a Redis server the
 * run did not start, read with one INFO (read-only): null when nothing answers there, `{ error }`
 * when it answers with an error (a password, say).
 * @returns {Promise<null | { error: string } | { keys: number, expires: number, changes: number, lastSave: number, gone: number }>}
 */
export function redisSnapshot(port = 6379, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    let buf = Buffer.alloc(0);
    const done = (v) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done({ error: 'no INFO reply within 2 s' }), 2000);
    socket.once('error', () => done(null));
    socket.once('connect', () => socket.write('*1\r\n$4\r\nINFO\r\n'));
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      const head = buf.subarray(0, eol).toString();
      if (!head.startsWith('$')) return done({ error: head });
      const len = Number(head.slice(1));
      if (buf.length < eol + 2 + len) return;
      done(parseInfo(buf.subarray(eol + 2, eol + 2 + len).toString()));
    });
  });
}

/** @param {string} text INFO output */
function parseInfo(text) {
  const field = (name) => {
    const m = new RegExp(`^${name}:(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : -1;
  };
  let keys = 0;
  let expires = 0;
  for (const m of text.matchAll(/^db\d+:keys=(\d+),expires=(\d+)/gm)) {
    keys += Number(m[1]);
    expires += Number(m[2]);
  }
  // keys that went by themselves: expired, or evicted under maxmemory
  const gone = Math.max(0, field('expired_keys')) + Math.max(0, field('evicted_keys'));
  return { keys, expires, changes: field('rdb_changes_since_last_save'), lastSave: field('rdb_last_save_time'), gone };
}

/**
 * What changed on that server between two snapshots: `{ line, changed }`, the line for the run's
 * output. Writes are counted from rdb_changes_since_last_save, which a save in between resets; keys
 * that expired or were evicted meanwhile are no change.
 */
export function compareSnapshots(before, after, where = '127.0.0.1:6379') {
  if (before === null || after === null) return null;
  if ('error' in before || 'error' in after) return { line: `${where} (not started by the tests) not checked: ${before.error ?? after.error}`, changed: false };
  const writes = before.lastSave === after.lastSave && before.changes >= 0 ? after.changes - before.changes : null;
  const gone = after.gone - before.gone;
  const changed = after.keys !== before.keys - gone || (writes !== null && writes !== 0);
  return {
    line: `${where} (not started by the tests): keys ${before.keys} -> ${after.keys} (${gone} expired or evicted meanwhile), with expiry ${before.expires} -> ${after.expires}, writes during the run: ${writes ?? 'unknown (it saved during the run)'}`,
    changed,
  };
}
