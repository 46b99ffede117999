// The wall clock steps +1 h and then -1 h under a running gateway (a test-only preload shifts
// Date; the monotonic clock runs on, as with a real step): rate limits, bans, token validity and
// the audit chain.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import { admin, ADMIN_TOKEN, auditEvents, auditVerify, check, freePort, jwtHs256, ROOT, sleep, startGateway, startUpstream, workDir } from '../lib.mjs';

const HOUR = 3600_000;
const BURST = 3;

export const clock = {
  title: 'The wall clock jumps forward and back',
  expect: [
    'The gateway runs under a test-only preload (`chaos/clock-skew.mjs`) that shifts its wall clock (Date) by +1 h, then -1 h; the monotonic clock runs on, as with a real step of the system clock. The system clock is not touched.',
    `Rate limits (\`rate: 6/min, burst: ${BURST}\`: a token every 10 s) run on the steady clock (wall time at start + monotonic time): a step neither refills the bucket (+1 h: no token back, where a wall-clock bucket is full again) nor locks it (-1 h: a request accepted 10 real seconds after the bucket emptied, where a wall-clock bucket stays empty for the hour).`,
    "Tokens are judged by wall time, with `clock_skew_s: 60`: +1 h, a token with 30 min left is refused as expired (401 `PC_ERR_AUTH_TOKEN_EXPIRED`) and one with 2 h left accepted; -1 h, a token issued now (iat 1 h in the gateway's future) is refused (401 `PC_ERR_AUTH_TOKEN_NOT_YET_VALID`).",
    'Bans follow wall time (their end is a date shared through the store and shown to operators): +1 h, a 10-min ban has ended; -1 h, a ban placed at +1 h has 1 h 10 min left.',
    'The audit chain verifies although entry times go backward (the chain is by hash, not by time).',
  ],
  async run({ log }) {
    const dir = workDir('clock');
    const skewFile = join(dir, 'skew');
    const setSkew = async (ms) => {
      writeFileSync(skewFile, String(ms));
      await sleep(150);
      log(`  wall clock skew ${ms / HOUR} h`);
    };
    writeFileSync(skewFile, '0');
    const up = await startUpstream();
    const port = await freePort();
    const adminPort = await freePort();
    const secret = randomBytes(32).toString('base64url');
    const audit = join(dir, 'audit.jsonl');
    const g = await startGateway(
      dir,
      `
version: 1
listeners: [{ port: ${port} }]
admin: { port: ${adminPort}, token: ${ADMIN_TOKEN} }
access_log: { enabled: false }
audit: { enabled: true, path: "${audit}" }
reload: { watch: false }
waf: { mode: off }
abuse: { enabled: true }
auth:
  jwt:
    providers:
      main: { issuer: https://chaos.test, algorithms: [HS256], secret: "${secret}", clock_skew_s: 60 }
upstreams:
  up: { targets: [{ url: "${up.url}" }] }
routes:
  - { id: limited, match: { prefix: /limited }, upstream: up, auth: none, rate_limit: { limits: [{ name: ip, key: [ip], rate: 6/min, burst: ${BURST} }] } }
  - { id: open, match: { prefix: /open }, upstream: up, auth: none }
  - { id: token, match: { prefix: /token }, upstream: up }
`,
      { port, nodeArgs: ['--import', join(ROOT, 'chaos', 'clock-skew.mjs')], env: { PORTCULLIS_CHAOS_SKEW_FILE: skewFile } },
    );
    const origin = `http://127.0.0.1:${port}`;
    const from2 = new Agent({ localAddress: '127.0.0.2' });
    const get = async (path, opts = {}) => {
      const r = await request(`${origin}${path}`, opts);
      const t = await r.body.text();
      let code = null;
      try {
        code = JSON.parse(t).code ?? null;
      } catch {}
      return r.statusCode === 200 ? '200' : `${r.statusCode} ${code}`;
    };
    const burst = async () => {
      const out = [];
      for (let i = 0; i < 6; i++) out.push(await get('/limited'));
      return { accepted: out.filter((s) => s === '200').length, out };
    };
    const s = () => Math.floor(Date.now() / 1000);
    const tok = (expIn, iat = s()) => jwtHs256({ iss: 'https://chaos.test', sub: 'svc', iat, exp: s() + expIn }, secret);
    const t30m = tok(1800);
    const t2h = tok(7200);
    const bearer = (t) => ({ headers: { authorization: `Bearer ${t}` } });
    const ban = (client) => admin(adminPort, '/admin/bans', { method: 'POST', body: { client, duration_ms: 600000, reason: 'chaos clock' } });

    // at 0
    const tB0 = performance.now();
    const b0 = await burst();
    const tok0 = [await get('/token', bearer(t30m)), await get('/token', bearer(t2h))];
    await ban('127.0.0.2');
    await sleep(300);
    const ban0 = await get('/open', { dispatcher: from2 });
    // +1 h
    const tPlus = performance.now();
    await setSkew(HOUR);
    const bPlus = await burst();
    const realPlus = (performance.now() - tPlus) / 1000;
    const tokPlus = [await get('/token', bearer(t30m)), await get('/token', bearer(t2h))];
    await sleep(600); // the abuse engine's ban list sync
    const banPlus = await get('/open', { dispatcher: from2 });
    await ban('127.0.0.3');
    const from3 = new Agent({ localAddress: '127.0.0.3' });
    // -1 h
    await setSkew(-HOUR);
    await sleep(Math.max(0, tB0 + 11500 - performance.now())); // a token back 10 real seconds after the bucket emptied
    const bMinus = await burst();
    const tokMinus = [await get('/token', bearer(tok(1800))), await get('/token', bearer(t2h))];
    await sleep(600);
    const banMinus = await get('/open', { dispatcher: from3 });
    await ban('127.0.0.4');
    await setSkew(0);
    const alive = g.alive();
    await g.stop();
    await up.close();
    await from2.close();
    await from3.close();
    const events = auditEvents(audit);
    const times = events.map((e) => Date.parse(e.time));
    const backward = times.some((t, i) => i > 0 && t < times[i - 1]);
    const verify = auditVerify(audit);
    return {
      load: 'single requests at each step (6 to the limited route, tokens, a banned client)',
      detail: [
        `at 0: limited ${b0.out.join(',')}; tokens ${tok0.join(' / ')}; banned client ${ban0}`,
        `+1 h: limited ${bPlus.out.join(',')} (${realPlus.toFixed(1)} real s after the step); tokens (30 min, 2 h left) ${tokPlus.join(' / ')}; 10-min ban ${banPlus}`,
        `-1 h: limited ${bMinus.out.join(',')}; tokens (issued now, 2 h cached) ${tokMinus.join(' / ')}; ban placed at +1 h ${banMinus}`,
        `audit times: ${events.map((e) => `${e.event}@${e.time.slice(11, 19)}`).join(', ')}`,
      ],
      checks: [
        check('limit at 0', `${BURST} accepted, then 429`, `${b0.accepted} accepted`, b0.accepted === BURST),
        check(
          'limit after +1 h',
          'not refilled: 0 accepted (≤ 1 if 10 real s passed)',
          `${bPlus.accepted} accepted (${realPlus.toFixed(1)} s after the step)`,
          bPlus.accepted <= 1,
        ),
        check(
          'limit after -1 h',
          'not locked: ≥ 1 accepted 11.5 real s after the first burst, then 429',
          `${bMinus.accepted} accepted`,
          bMinus.accepted >= 1 && bMinus.accepted < 6,
        ),
        check(
          'tokens at 0',
          '200 / 200',
          tok0.join(' / '),
          tok0.every((x) => x === '200'),
        ),
        check(
          'tokens after +1 h (wall time)',
          '401 PC_ERR_AUTH_TOKEN_EXPIRED / 200',
          tokPlus.join(' / '),
          tokPlus[0] === '401 PC_ERR_AUTH_TOKEN_EXPIRED' && tokPlus[1] === '200',
        ),
        check(
          'token issued now, after -1 h (wall time)',
          '401 PC_ERR_AUTH_TOKEN_NOT_YET_VALID',
          tokMinus[0],
          tokMinus[0] === '401 PC_ERR_AUTH_TOKEN_NOT_YET_VALID',
        ),
        check(
          'bans (wall time)',
          'at 0: 403; +1 h: 10-min ban over (200); -1 h: ban from +1 h holds (403)',
          `${ban0}; ${banPlus}; ${banMinus}`,
          ban0 === '403 PC_ERR_CLIENT_BANNED' && banPlus === '200' && banMinus === '403 PC_ERR_CLIENT_BANNED',
        ),
        check('audit chain', 'verifies, entry times going backward', `exit ${verify.code}; times go backward: ${backward}`, verify.code === 0 && backward),
        check('gateway process', 'alive', String(alive), alive),
      ],
    };
  },
};
