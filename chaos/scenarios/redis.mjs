// Redis killed (SIGKILL) and restarted under load, with a fail-open limit, a fail-closed limit,
// bans, JWT jti replay protection and the Redis response cache on one gateway, and the audit log on.
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  admin,
  ADMIN_TOKEN,
  auditEvents,
  auditVerify,
  check,
  fmtBy,
  freePort,
  jwtHs256,
  load,
  metric,
  sleep,
  startGateway,
  startRedis,
  startUpstream,
  summarize,
  workDir,
} from '../lib.mjs';

export const redis = {
  title: 'Redis stopped and restarted mid-load',
  expect: [
    'Fail-open limit (`on_store_failure: open`): every request served (200) while Redis is down (the limit is enforced in the process).',
    'Fail-closed limit (`on_store_failure: closed`): every request from the first one after the kill refused with 503 `PC_ERR_LIMIT_UNAVAILABLE`.',
    'JWT `jti` replay protection (`replay: { jti: true }`): fails closed, 503 `PC_ERR_AUTH_UNAVAILABLE`; a replayed token is refused (401) before and after.',
    'Bans: a ban placed before the outage stays enforced (403 `PC_ERR_CLIENT_BANNED`) through it; the ban list is kept, not lifted.',
    'Redis cache (`cache.store: redis`): bypassed (served from the upstream, `Cache-Status: ...; detail="store error"`), never an error.',
    'No crash: the gateway process is alive at the end, never restarted.',
    '`command_timeout_ms: 1000` (default 100): this machine runs at a load average near 20, where event-loop lag alone passes 100 ms, and each command timeout sends the store into a 1 s cool-down (measured with the default: fail-closed 503s before the fault). The outage itself is seen by the connection closing, not by a timeout.',
    'Recovery within 1 s of Redis answering again: the first fail-closed 200, first replay-protected 200, first cache hit and first ban accepted by the admin API.',
    'No audit line lost: every admin ban answered 201 has its `admin_ban_added` line, the store fault is audited (`alert_fired`), and `portcullis audit verify` passes.',
  ],
  async run({ log }) {
    const dir = workDir('redis');
    const r = await startRedis(dir);
    const up = await startUpstream();
    const port = await freePort();
    const adminPort = await freePort();
    const secret = randomBytes(32).toString('base64url');
    const prefix = `chaos-${randomBytes(4).toString('hex')}:`;
    const audit = join(dir, 'audit.jsonl');
    const cfg = `
version: 1
listeners: [{ port: ${port} }]
admin: { port: ${adminPort}, token: ${ADMIN_TOKEN} }
access_log: { path: "${join(dir, 'access.log')}" }
audit: { enabled: true, path: "${audit}" }
reload: { watch: false }
waf: { mode: off }
abuse: { enabled: true, sync_interval_ms: 250, detectors: { errors_4xx: { mode: off }, rate_limited: { mode: off }, auth_failures: { mode: off }, scanning: { mode: off }, enumeration: { mode: off }, rate_anomaly: { mode: off }, errors_5xx: { mode: off } } }
alerts: { faults: { resolve_after_ms: 2000, cooldown_ms: 1000 } }
state: { store: redis, redis: { url: "${r.url}", key_prefix: "${prefix}", reconnect_max_delay_ms: 200, command_timeout_ms: 1000 } }
cache: { store: redis }
auth:
  jwt:
    providers:
      main: { issuer: https://chaos.test, algorithms: [HS256], secret: "${secret}" }
upstreams:
  up: { targets: [{ url: "${up.url}" }] }
routes:
  - { id: open, match: { prefix: /open }, upstream: up, auth: none, rate_limit: { limits: [{ name: open, key: [ip], rate: 100000/s, burst: 100000, on_store_failure: open }] } }
  - { id: closed, match: { prefix: /closed }, upstream: up, auth: none, rate_limit: { limits: [{ name: closed, key: [ip], rate: 100000/s, burst: 100000, on_store_failure: closed }] } }
  - { id: once, match: { prefix: /once }, upstream: up, auth: { any_of: [{ jwt: {} }], replay: { jti: true } } }
  - { id: cached, match: { prefix: /cached }, upstream: up, auth: none, cache: on }
`;
    const g = await startGateway(dir, cfg, { port });
    const origin = `http://127.0.0.1:${port}`;
    const now = () => Math.floor(Date.now() / 1000);
    const token = () => jwtHs256({ iss: 'https://chaos.test', sub: 'svc', iat: now() - 1, exp: now() + 300, jti: randomUUID() }, secret);
    const replayed = token();
    // warm: the cached entry is stored, the replayed token used once, a ban placed on 127.0.0.2
    await fetch(`${origin}/cached/a`);
    // warm-up: a cold process compiles its hot paths on the first requests (slow replies there would be the start's, not the fault's)
    await load({ origin, concurrency: 10, durationMs: 1500, next: (i) => ({ path: i % 2 ? '/open' : '/closed' }) }).done;
    const first = await fetch(`${origin}/once`, { headers: { authorization: `Bearer ${replayed}` } });
    const ban = await admin(adminPort, '/admin/bans', { method: 'POST', body: { client: '127.0.0.2', duration_ms: 600000, reason: 'chaos' } });
    let bansAccepted = ban.status === 201 ? 1 : 0;
    await sleep(500);

    const t0 = performance.now();
    const lanes = ['open', 'closed', 'once', 'cached', 'replayed'];
    const main = load({
      origin,
      concurrency: 10,
      t0,
      keepHeaders: ['cache-status'],
      next: (i) => {
        const lane = lanes[i % lanes.length];
        if (lane === 'once') return { lane, path: '/once', headers: { authorization: `Bearer ${token()}` } };
        if (lane === 'replayed') return { lane, path: '/once', headers: { authorization: `Bearer ${replayed}` } };
        if (lane === 'cached') return { lane, path: '/cached/a' };
        return { lane, path: `/${lane}` };
      },
    });
    const banned = load({ origin, concurrency: 2, t0, localAddress: '127.0.0.2', next: () => ({ lane: 'banned', path: '/open', pauseMs: 5 }) });
    await sleep(3000);
    const tDown = performance.now() - t0;
    await r.kill();
    log(`  redis killed at ${(tDown / 1000).toFixed(2)} s`);
    await sleep(5000);
    // a ban through the admin API while Redis is down
    const banDown = await admin(adminPort, '/admin/bans', { method: 'POST', body: { client: '127.0.0.4', duration_ms: 600000, reason: 'chaos' } }).catch(
      (e) => ({
        status: 0,
        text: e.message,
      }),
    );
    if (banDown.status === 201) bansAccepted++;
    await r.start();
    const tUp = performance.now() - t0;
    log(`  redis answering again at ${(tUp / 1000).toFixed(2)} s`);
    // the first ban the admin API accepts again
    let tBanOk = null;
    for (let i = 0; i < 100 && tBanOk === null; i++) {
      const b = await admin(adminPort, '/admin/bans', { method: 'POST', body: { client: '127.0.0.3', duration_ms: 600000, reason: 'chaos' } }).catch(() => ({
        status: 0,
      }));
      if (b.status === 201) {
        tBanOk = performance.now() - t0;
        bansAccepted++;
      } else await sleep(20);
    }
    await sleep(2000);
    const m1 = await admin(adminPort, '/metrics');
    await sleep(1500);
    const m2 = await admin(adminPort, '/metrics');
    const recs = [...(await main.stop()), ...(await banned.stop())];
    const b3 = await fetch(`${origin}/open`, { dispatcher: undefined }).then((x) => x.status);
    const alive = g.alive();
    const exitsSeen = g.exits.length;
    // audit: the file as written up to now (the gateway keeps running until after the count)
    await sleep(300);
    const events = auditEvents(audit);
    const verify = auditVerify(audit);
    await g.stop();
    await r.kill();
    await up.close();

    const during = (lane) => recs.filter((x) => x.lane === lane && x.start >= tDown && x.end <= tUp);
    const before = (lane) => recs.filter((x) => x.lane === lane && x.end <= tDown);
    const after = (lane) => recs.filter((x) => x.lane === lane && x.start >= tUp);
    const firstAfter = (lane, pred) => {
      const a = after(lane)
        .filter(pred)
        .sort((x, y) => x.end - y.end)[0];
      return a ? a.end - tUp : null;
    };
    const all = (xs, pred) => xs.length > 0 && xs.every(pred);
    const ms = (v) => (v === null ? 'never' : `${Math.round(v)} ms`);
    const figures = {};
    for (const l of [...lanes, 'banned']) figures[l] = { before: summarize(before(l)).by, during: summarize(during(l)).by, after: summarize(after(l)).by };
    const recClosed = firstAfter('closed', (x) => x.status === 200);
    const recOnce = firstAfter('once', (x) => x.status === 200);
    // requests started once replay protection works again (between Redis answering and the client reconnecting, it is still down)
    const recovered = (lane) => recs.filter((x) => x.lane === lane && recOnce !== null && x.start >= tUp + recOnce);
    const recCache = firstAfter('cached', (x) => /^hit/i.test(x.headers['cache-status'] ?? '') || /hit/.test(x.headers['cache-status'] ?? ''));
    const recBan = tBanOk === null ? null : tBanOk - tUp;
    const fallbacksOpen = [
      metric(m1.text, 'portcullis_ratelimit_store_fallbacks_total', { policy: 'open' }),
      metric(m2.text, 'portcullis_ratelimit_store_fallbacks_total', { policy: 'open' }),
    ];
    const auditBans = events.filter((e) => e.event === 'admin_ban_added').length;
    const fired = events.filter((e) => e.event === 'alert_fired' && JSON.stringify(e.data).includes('store')).length;
    const allSummary = summarize(recs.filter((x) => x.lane !== 'banned'));
    void first;
    void b3;
    return {
      load: `10 connections over 4 routes + 2 connections from a banned address (127.0.0.2), ${((performance.now() - t0) / 1000).toFixed(0)} s; Redis SIGKILLed at ${(tDown / 1000).toFixed(1)} s, back at ${(tUp / 1000).toFixed(1)} s`,
      figures: { requests: allSummary.n, p99_ms: Math.round(allSummary.p99), max_ms: Math.round(allSummary.max) },
      detail: Object.entries(figures).map(([l, f]) => `${l}: before {${fmtBy(f.before)}} · down {${fmtBy(f.during)}} · after {${fmtBy(f.after)}}`),
      checks: [
        check(
          'fail-open limit while down',
          'all 200',
          fmtBy(summarize(during('open')).by),
          all(during('open'), (x) => x.status === 200),
        ),
        check(
          'fail-closed limit while down',
          'all 503 PC_ERR_LIMIT_UNAVAILABLE',
          fmtBy(summarize(during('closed')).by),
          all(during('closed'), (x) => x.status === 503 && x.code === 'PC_ERR_LIMIT_UNAVAILABLE'),
        ),
        check(
          'jti replay protection while down',
          'all 503 PC_ERR_AUTH_UNAVAILABLE',
          fmtBy(summarize(during('once')).by),
          all(during('once'), (x) => x.status === 503 && x.code === 'PC_ERR_AUTH_UNAVAILABLE'),
        ),
        check(
          'replayed token before, and after the recovery',
          'all 401 PC_ERR_AUTH_TOKEN_REPLAYED',
          `${fmtBy(summarize(before('replayed')).by)} / ${fmtBy(summarize(recovered('replayed')).by)}`,
          all([...before('replayed'), ...recovered('replayed')], (x) => x.code === 'PC_ERR_AUTH_TOKEN_REPLAYED'),
        ),
        check(
          'banned client, whole run',
          'all 403 PC_ERR_CLIENT_BANNED',
          fmtBy(summarize(recs.filter((x) => x.lane === 'banned')).by),
          all(
            recs.filter((x) => x.lane === 'banned'),
            (x) => x.code === 'PC_ERR_CLIENT_BANNED',
          ),
        ),
        check(
          'cache while down',
          'all 200 (bypass)',
          `${fmtBy(summarize(during('cached')).by)}; cache-status: ${[...new Set(during('cached').map((x) => x.headers['cache-status']))].join(' | ')}`,
          all(during('cached'), (x) => x.status === 200),
        ),
        check(
          'gateway process',
          'alive, not restarted',
          alive && exitsSeen === 0 ? `alive (pid ${g.proc.pid}), exits: ${exitsSeen}` : `exited ${JSON.stringify(g.exits)}`,
          alive,
        ),
        check('recovery: fail-closed limit', '<= 1000 ms after Redis answers', ms(recClosed), recClosed !== null && recClosed <= 1000),
        check('recovery: jti replay protection', '<= 1000 ms', ms(recOnce), recOnce !== null && recOnce <= 1000),
        check('recovery: cache hit', '<= 1000 ms', ms(recCache), recCache !== null && recCache <= 1000),
        check('recovery: admin ban accepted', '<= 1000 ms', ms(recBan), recBan !== null && recBan <= 1000),
        check(
          'fail-open fallbacks stop after recovery',
          'portcullis_ratelimit_store_fallbacks_total{policy="open"} unchanged 2-3.5 s after',
          `${fallbacksOpen[0]} → ${fallbacksOpen[1]}`,
          fallbacksOpen[0] > 0 && fallbacksOpen[0] === fallbacksOpen[1],
        ),
        check(
          'ban placed while down',
          'refused (5xx, nothing recorded) or accepted and audited',
          `HTTP ${banDown.status}`,
          banDown.status === 201 || banDown.status >= 500,
        ),
        check('audit: every accepted ban recorded', `${bansAccepted} admin_ban_added`, `${auditBans} admin_ban_added`, auditBans === bansAccepted),
        check('audit: store fault alert recorded', '>= 1 alert_fired', `${fired} alert_fired (store)`, fired >= 1),
        check('audit: chain verifies', '`portcullis audit verify` exit 0', `exit ${verify.code}: ${verify.out.split('\n')[0]}`, verify.code === 0),
      ],
    };
  },
};
