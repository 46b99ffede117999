// `workers: 2`: one worker SIGKILLed under load. The primary replaces it; only the requests in
// flight on the killed worker fail.
import { spawnSync } from 'node:child_process';
import { request } from 'undici';
import { ADMIN_TOKEN, check, fmtBy, freePort, load, sleep, startGateway, startUpstream, summarize, workDir } from '../lib.mjs';

const CONCURRENCY = 8;

const workersOf = (pid) =>
  spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);

export const cluster = {
  title: 'A cluster worker killed with SIGKILL',
  expect: [
    '`workers: 2` (memory store kept in the primary): the primary forks a replacement 0.5 s after a worker exits.',
    `Only requests in flight on the killed worker fail: at most one per client connection it held (≤ ${CONCURRENCY}, the load's connections); no failure among requests started 100 ms after the kill.`,
    'The replacement is forked within 3 s (the primary waits 0.5 s; then a fork, seen by polling `ps`, on a 2-core machine that ran at a load average near 20 during these runs) and serves new connections (40 fresh connections, all 200).',
    'The primary stays up (no restart).',
  ],
  async run({ log }) {
    const dir = workDir('cluster');
    const up = await startUpstream();
    up.setDelay(20); // requests spend time in flight
    const port = await freePort();
    const adminPort = await freePort();
    const g = await startGateway(
      dir,
      `
version: 1
workers: 2
listeners: [{ port: ${port} }]
admin: { port: ${adminPort}, token: ${ADMIN_TOKEN} }
access_log: { enabled: false }
reload: { watch: false }
waf: { mode: off }
abuse: { enabled: false }
upstreams:
  up: { targets: [{ url: "${up.url}" }] }
routes:
  - { id: api, match: { prefix: /api }, upstream: up, auth: none, rate_limit: { limits: [{ name: ip, key: [ip], rate: 100000/s, burst: 100000 }] } }
`,
      { port },
    );
    const origin = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100 && workersOf(g.proc.pid).length < 2; i++) await sleep(50);
    await sleep(1000); // both workers listening
    const before = workersOf(g.proc.pid);
    const t0 = performance.now();
    const L = load({ origin, concurrency: CONCURRENCY, t0, next: () => ({ path: '/api/x' }) });
    await sleep(4000);
    const victim = before[0];
    const tKill = performance.now() - t0;
    process.kill(victim, 'SIGKILL');
    log(`  worker ${victim} SIGKILLed at ${(tKill / 1000).toFixed(2)} s`);
    let tBack = null;
    for (let i = 0; i < 100; i++) {
      const now = workersOf(g.proc.pid);
      if (now.length === 2 && !now.includes(victim)) {
        tBack = performance.now() - t0;
        break;
      }
      await sleep(20);
    }
    await sleep(4000);
    const recs = await L.stop();
    const after = workersOf(g.proc.pid);
    // fresh connections: the cluster hands them round robin, so the replacement gets its share
    const fresh = [];
    for (let i = 0; i < 40; i++) {
      const r = await request(`${origin}/api/fresh`, { headers: { connection: 'close' }, headersTimeout: 5000 }).catch((e) => ({
        statusCode: 0,
        body: null,
        e,
      }));
      await r.body?.text();
      fresh.push(r.statusCode);
    }
    const alive = g.alive();
    await g.stop();
    await up.close();
    const failed = recs.filter((r) => r.status !== 200);
    const late = recs.filter((r) => r.start >= tKill + 100);
    const all = summarize(recs);
    void ADMIN_TOKEN;
    return {
      load: `${CONCURRENCY} keep-alive connections, GET with a 20 ms upstream, ${(recs.length / ((performance.now() - t0) / 1000)).toFixed(0)} req/s; worker SIGKILLed at ${(tKill / 1000).toFixed(1)} s`,
      figures: { requests: all.n, failed: failed.length, p99_ms: Math.round(all.p99), max_ms: Math.round(all.max) },
      detail: [`workers before ${before.join(', ')}; after ${after.join(', ')}`, `failures: ${fmtBy(summarize(failed).by) || 'none'}`],
      checks: [
        check(
          'failed requests',
          `≤ ${CONCURRENCY} (in flight on the killed worker)`,
          `${failed.length}: ${fmtBy(summarize(failed).by) || 'none'}`,
          failed.length <= CONCURRENCY,
        ),
        check(
          'failures only at the kill',
          'none started ≥ 100 ms after it',
          `${late.filter((r) => r.status !== 200).length} of ${late.length}`,
          late.length > 0 && late.every((r) => r.status === 200),
        ),
        check(
          'worker replaced',
          '2 workers again within 3 s',
          tBack === null ? 'not replaced' : `${Math.round(tBack - tKill)} ms (pids ${after.join(', ')})`,
          tBack !== null && tBack - tKill <= 3000,
        ),
        check(
          'replacement serves',
          '40 fresh connections all 200',
          fmtBy(summarize(fresh.map((s) => ({ status: s, start: 0, end: 0 }))).by),
          fresh.every((s) => s === 200),
        ),
        check('primary', 'alive', alive ? `alive (pid ${g.proc.pid})` : `exited ${JSON.stringify(g.exits)}`, alive),
      ],
    };
  },
};
