// A reload storm under load: valid and invalid configs written alternately, each followed by
// SIGHUP. In-flight and new requests all succeed; each invalid config is reported and leaves the
// running one in force; the last valid one is in force at the end.
import { join } from 'node:path';
import {
  admin,
  ADMIN_TOKEN,
  auditEvents,
  auditVerify,
  check,
  fmtBy,
  freePort,
  load,
  metric,
  sleep,
  startGateway,
  startUpstream,
  summarize,
  workDir,
} from '../lib.mjs';

const N = 30;

export const reload = {
  title: 'A reload storm under load',
  expect: [
    `${N} reloads (SIGHUP) under load, valid and invalid configs alternately (invalid: YAML syntax error, unknown key, wrong type, route to an undeclared upstream, in turn); each valid one adds a route \`/v<k>\`.`,
    '0 failed requests (a reload swaps the snapshot atomically; in-flight requests finish on the one they started with).',
    `Every invalid config reported: \`portcullis_config_reloads_total{result="failure"}\` = ${N / 2}, a \`config_rejected\` audit line and a log line each; every valid one applied (\`result="success"\` = ${N / 2}).`,
    'The last valid config in force: its route answers 200, routes of earlier ones 404; the audit chain verifies.',
  ],
  async run({ log }) {
    const dir = workDir('reload');
    const up = await startUpstream();
    const port = await freePort();
    const adminPort = await freePort();
    const audit = join(dir, 'audit.jsonl');
    const base = (extraRoute, extra = '') => `
version: 1
listeners: [{ port: ${port} }]
admin: { port: ${adminPort}, token: ${ADMIN_TOKEN} }
access_log: { enabled: false }
audit: { enabled: true, path: "${audit}" }
reload: { watch: false }
waf: { mode: off }
abuse: { enabled: false }
${extra}
upstreams:
  up: { targets: [{ url: "${up.url}" }] }
routes:
  - { id: api, match: { prefix: /api }, upstream: up, auth: none }
${extraRoute}
`;
    const valid = (k) => base(`  - { id: v${k}, match: { prefix: /v${k} }, upstream: up, auth: none }`);
    const invalid = [
      () => `${valid(0)}\n  - { id: broken, match: { prefix: /broken  upstream: up }\n`,
      () => base('', 'no_such_key: true'),
      () => base('  - { id: bad, match: { prefix: 42 }, upstream: up, auth: none }'),
      () => base('  - { id: bad, match: { prefix: /bad }, upstream: nowhere, auth: none }'),
    ];
    const g = await startGateway(dir, valid(0), { port });
    const origin = `http://127.0.0.1:${port}`;
    await load({ origin, concurrency: 8, durationMs: 1000, next: () => ({ path: '/api/warm' }) }).done;
    const reloads = async () => {
      const t = (await admin(adminPort, '/metrics')).text;
      return {
        ok: metric(t, 'portcullis_config_reloads_total', { result: 'success' }),
        fail: metric(t, 'portcullis_config_reloads_total', { result: 'failure' }),
      };
    };
    const r0 = await reloads();
    const t0 = performance.now();
    const L = load({ origin, concurrency: 8, t0, next: () => ({ path: '/api/x' }) });
    let lastValid = 0;
    let unanswered = 0;
    const started = performance.now();
    for (let i = 1; i <= N; i++) {
      const isValid = i % 2 === 0;
      if (isValid) lastValid = i;
      g.write(isValid ? valid(i) : invalid[(i >> 1) % invalid.length]());
      const before = await reloads();
      g.proc.kill('SIGHUP');
      // wait for this reload's verdict (bounded), so that every one is counted
      let done = false;
      for (let k = 0; k < 150 && !done; k++) {
        await sleep(20);
        const now = await reloads();
        done = now.ok + now.fail > before.ok + before.fail;
      }
      if (!done) unanswered++;
    }
    const stormS = (performance.now() - started) / 1000;
    await sleep(500);
    const recs = await L.stop();
    const r1 = await reloads();
    const last = await fetch(`${origin}/v${lastValid}/x`).then((r) => r.status);
    const prev = await fetch(`${origin}/v${lastValid - 2}/x`).then((r) => r.status);
    const alive = g.alive();
    const errLines = (g.stderr().match(/reload|rejected/gi) ?? []).length;
    await g.stop();
    await up.close();
    const events = auditEvents(audit);
    const rejected = events.filter((e) => e.event === 'config_rejected').length;
    const reloaded = events.filter((e) => e.event === 'config_reloaded').length;
    const verify = auditVerify(audit);
    const failed = recs.filter((r) => r.status !== 200);
    const all = summarize(recs);
    log(`  storm of ${N} reloads in ${stormS.toFixed(1)} s`);
    return {
      load: `8 keep-alive connections, GET; ${N} reloads in ${stormS.toFixed(1)} s (each waited for)`,
      figures: { requests: all.n, failed: failed.length, p99_ms: Math.round(all.p99), max_ms: Math.round(all.max) },
      checks: [
        check('failed requests', '0', `${failed.length} of ${all.n} (${fmtBy(all.by)})`, failed.length === 0 && all.n > 0),
        check(
          'invalid configs reported',
          `${N / 2} failures`,
          `${r1.fail - r0.fail} failures; ${rejected} config_rejected audit lines; ${errLines} log mentions`,
          r1.fail - r0.fail === N / 2 && rejected === N / 2,
        ),
        check(
          'valid configs applied',
          `${N / 2} successes`,
          `${r1.ok - r0.ok} successes; ${reloaded} config_reloaded audit lines; ${unanswered} reloads without a verdict in 3 s`,
          r1.ok - r0.ok === N / 2 && unanswered === 0,
        ),
        check(
          'last valid config in force',
          `/v${lastValid} 200, /v${lastValid - 2} 404`,
          `/v${lastValid} ${last}, /v${lastValid - 2} ${prev}`,
          last === 200 && prev === 404,
        ),
        check('audit chain', 'verifies', `exit ${verify.code}`, verify.code === 0),
        check('gateway process', 'alive', alive ? 'alive' : `exited ${JSON.stringify(g.exits)}`, alive),
      ],
    };
  },
};
