// Upstream targets hanging, resetting, flapping and all down, under load: health checks, passive
// ejection, panic mode, timeouts and the retry budget as configured.
import { admin, ADMIN_TOKEN, check, fmtBy, freePort, load, metric, sleep, startGateway, startUpstream, summarize, workDir } from '../lib.mjs';

const RESPONSE_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 300;
/** scheduling margin on a loaded 2-core machine */
const MARGIN_MS = 300;
/**
 * undici runs its response-headers timeout on its coarse "fast timer" (a tick every 499 ms): a
 * timeout fires up to about one tick late. Measured: 8 requests started over 200 ms all ended in
 * the same millisecond, 1.19-1.41 s after they started, for a 1 s timeout.
 */
const UNDICI_TICK_MS = 500;
const HANG_BOUND_MS = RESPONSE_TIMEOUT_MS + UNDICI_TICK_MS + MARGIN_MS;
const HC = { interval_ms: 250, timeout_ms: 300, healthy_threshold: 2, unhealthy_threshold: 2 };
const PASSIVE = { consecutive_failures: 3, ejection_ms: 2000 };
const RETRIES = { attempts: 2, budget_percent: 20, min_per_second: 2 };
/** by then the faulty target is out: the passive ejection after 3 failures, or two failed probes */
const EJECTED_BY_MS = 1500;

export const upstream = {
  title: 'Upstream targets hanging, resetting, flapping, all down',
  expect: [
    `Three targets, round robin; \`response_timeout_ms: ${RESPONSE_TIMEOUT_MS}\`, \`connect_timeout_ms: ${CONNECT_TIMEOUT_MS}\`, health check every ${HC.interval_ms} ms (timeout ${HC.timeout_ms} ms, out after ${HC.unhealthy_threshold} failures, back after ${HC.healthy_threshold} successes), passive ejection after ${PASSIVE.consecutive_failures} consecutive failures for ${PASSIVE.ejection_ms} ms, retries \`{ attempts: 2, budget_percent: 20, min_per_second: 2 }\` (GET only, connection failures only).`,
    `Hanging target (accepts, never answers): its requests end in 504 \`PC_ERR_UPSTREAM_TIMEOUT\` at the response timeout (no request longer than ${RESPONSE_TIMEOUT_MS} ms + ${UNDICI_TICK_MS} ms, the tick of undici's timeout timer, + ${MARGIN_MS} ms); requests started ${EJECTED_BY_MS} ms after the hang began all succeed (the target is out of rotation).`,
    'A recovered target is back in rotation within the ejection time plus two probes (it serves requests again).',
    `Resetting target (closes the connection on each request): a GET is retried on another target, so clients see 200 within the retry budget; any failure is a 502 \`PC_ERR_UPSTREAM_UNAVAILABLE\` before the ejection (started within ${EJECTED_BY_MS} ms).`,
    'Flapping target (connection refused / accepting, every 300 ms): refused connections are retried on another target: 0 failed requests.',
    `All targets down (panic mode: every target tried although all are out): 502 \`PC_ERR_UPSTREAM_UNAVAILABLE\` fast (no request longer than ${CONNECT_TIMEOUT_MS} × 3 attempts + ${MARGIN_MS} ms); retries within the budget (at most max(20 % of the requests of the last 10 s, 2/s × 10 s)).`,
    'All targets back: served again within 1 s (panic mode still sends to them before the probes readmit them).',
    'No request hangs: every request of the run ends within the response timeout + margin.',
  ],
  async run({ log }) {
    const dir = workDir('upstream');
    const ups = [await startUpstream(), await startUpstream(), await startUpstream()];
    const [a, b, c] = ups;
    const port = await freePort();
    const adminPort = await freePort();
    const g = await startGateway(
      dir,
      `
version: 1
listeners: [{ port: ${port} }]
admin: { port: ${adminPort}, token: ${ADMIN_TOKEN} }
access_log: { path: "${dir}/access.log" }
reload: { watch: false }
waf: { mode: off }
abuse: { enabled: false }
upstreams:
  pool:
    targets: [{ url: "${a.url}" }, { url: "${b.url}" }, { url: "${c.url}" }]
    connect_timeout_ms: ${CONNECT_TIMEOUT_MS}
    response_timeout_ms: ${RESPONSE_TIMEOUT_MS}
    health_check: ${JSON.stringify({ path: '/healthz', ...HC })}
    passive: ${JSON.stringify(PASSIVE)}
    retries: ${JSON.stringify(RETRIES)}
routes:
  - { id: api, match: { prefix: /api }, upstream: pool, auth: none }
`,
      { port },
    );
    const origin = `http://127.0.0.1:${port}`;
    await load({ origin, concurrency: 8, durationMs: 1500, next: () => ({ path: '/api/warm' }) }).done;
    const t0 = performance.now();
    const at = () => performance.now() - t0;
    const L = load({ origin, concurrency: 8, t0, timeoutMs: 10000, next: () => ({ path: '/api/x' }) });
    const phases = [];
    const retries = async () => metric((await admin(adminPort, '/metrics')).text, 'portcullis_upstream_retries_total');
    const phase = async (name, ms, action) => {
      const p = { name, start: at(), retries0: await retries(), servedA0: a.served };
      phases.push(p);
      log(`  ${name} at ${(p.start / 1000).toFixed(1)} s`);
      if (action) await action();
      await sleep(ms);
      p.end = at();
      p.retries = (await retries()) - p.retries0;
      p.servedA = a.served - p.servedA0;
    };
    await phase('baseline', 2000);
    await phase('A hangs', 5000, () => a.setMode('hang'));
    await phase('A recovers', 4000, () => a.setMode('ok'));
    await phase('A resets', 4000, () => a.setMode('reset'));
    await phase('A recovers again', 4000, () => a.setMode('ok'));
    let flapping = true;
    const flaps = (async () => {
      await sleep(50);
      while (flapping) {
        await a.setMode(a.mode === 'down' ? 'ok' : 'down');
        await sleep(300);
      }
      await a.setMode('ok');
    })();
    await phase('A flaps', 5000);
    flapping = false;
    await flaps;
    await phase('all down', 4000, () => Promise.all(ups.map((u) => u.setMode('down'))));
    await phase('all back', 3000, () => Promise.all(ups.map((u) => u.setMode('ok'))));
    const recs = await L.stop();
    const alive = g.alive();
    await g.stop();
    for (const u of ups) await u.close();

    const P = Object.fromEntries(phases.map((p) => [p.name, p]));
    const inP = (name) => recs.filter((r) => r.start >= P[name].start && r.start < P[name].end);
    const fails = (xs) => xs.filter((r) => r.status !== 200);
    const lat = (r) => r.end - r.start;
    const maxLat = (xs) => Math.round(Math.max(0, ...xs.map(lat)));
    const by = (xs) => fmtBy(summarize(xs).by);
    const hang = inP('A hangs');
    const hangLate = hang.filter((r) => r.start - P['A hangs'].start >= EJECTED_BY_MS);
    const reset = inP('A resets');
    const resetLate = reset.filter((r) => r.start - P['A resets'].start >= EJECTED_BY_MS);
    const down = inP('all down');
    const back = inP('all back').filter((r) => r.start - P['all back'].start >= 1000);
    const windowReqs = recs.filter((r) => r.start >= P['all down'].end - 10000 && r.start < P['all down'].end).length;
    const budget = Math.max((windowReqs * RETRIES.budget_percent) / 100, RETRIES.min_per_second * 10);
    const all = summarize(recs);
    return {
      load: `8 connections, GET through a 3-target upstream, ${(at() / 1000).toFixed(0)} s in phases: ${phases.map((p) => `${p.name} ${((p.end - p.start) / 1000).toFixed(1)} s`).join(', ')}`,
      figures: { requests: all.n, p50_ms: Math.round(all.p50), p99_ms: Math.round(all.p99), max_ms: Math.round(all.max) },
      detail: phases.map((p) => `${p.name}: ${by(inP(p.name))}; max ${maxLat(inP(p.name))} ms; retries ${p.retries}; target A served ${p.servedA}`),
      checks: [
        check('baseline', 'all 200', by(inP('baseline')), fails(inP('baseline')).length === 0),
        check(
          'hanging target: failures',
          `only 504 PC_ERR_UPSTREAM_TIMEOUT, each ≤ ${HANG_BOUND_MS} ms`,
          `${by(fails(hang))}; slowest ${maxLat(hang)} ms`,
          fails(hang).every((r) => r.code === 'PC_ERR_UPSTREAM_TIMEOUT') && maxLat(hang) <= HANG_BOUND_MS,
        ),
        check(
          `hanging target: after ${EJECTED_BY_MS} ms`,
          'all 200 (target out of rotation)',
          by(hangLate),
          hangLate.length > 0 && fails(hangLate).length === 0,
        ),
        check(
          'recovered target back in rotation',
          'A serves requests again, 0 failures',
          `A served ${P['A recovers'].servedA}; ${by(inP('A recovers'))}`,
          P['A recovers'].servedA > 0 && fails(inP('A recovers')).length === 0,
        ),
        check(
          'resetting target',
          `failures only 502 PC_ERR_UPSTREAM_UNAVAILABLE started < ${EJECTED_BY_MS} ms; all 200 after`,
          `${by(reset)}; late: ${by(resetLate)}; retries ${P['A resets'].retries}`,
          fails(reset).every((r) => r.code === 'PC_ERR_UPSTREAM_UNAVAILABLE') && resetLate.length > 0 && fails(resetLate).length === 0,
        ),
        check('flapping target', '0 failed requests', `${by(inP('A flaps'))}; retries ${P['A flaps'].retries}`, fails(inP('A flaps')).length === 0),
        check(
          'all targets down (panic mode)',
          `502 PC_ERR_UPSTREAM_UNAVAILABLE, each ≤ ${CONNECT_TIMEOUT_MS * 3 + MARGIN_MS} ms`,
          `${by(down)}; slowest ${maxLat(down)} ms`,
          down.length > 0 && down.every((r) => r.code === 'PC_ERR_UPSTREAM_UNAVAILABLE') && maxLat(down) <= CONNECT_TIMEOUT_MS * 3 + MARGIN_MS,
        ),
        check(
          'retry budget while all down',
          `retries ≤ ${Math.floor(budget)} (budget over the last 10 s: ${windowReqs} requests)`,
          `${P['all down'].retries} retries for ${down.length} requests`,
          P['all down'].retries <= budget,
        ),
        check('all targets back', 'all 200 from 1 s after', by(back), back.length > 0 && fails(back).length === 0),
        check(
          'no request hangs',
          `every request ≤ ${HANG_BOUND_MS} ms`,
          `slowest ${Math.round(all.max)} ms; transport errors: ${recs.filter((r) => r.err).length}`,
          all.max <= HANG_BOUND_MS && recs.every((r) => !r.err),
        ),
        check('gateway process', 'alive', alive ? 'alive' : `exited ${JSON.stringify(g.exits)}`, alive),
      ],
    };
  },
};
