/**
 * Issue 24 (chaos, clock jumps): rate-limit buckets were kept on the wall clock, so a step of the
 * system clock refilled them (forward) or emptied them for the length of the step (backward: a
 * bucket whose theoretical arrival time lay an hour ahead refused every request for that hour).
 * They now run on the steady clock (wall time at start + monotonic time): the wall clock here is
 * stepped ±1 h while the steady clock runs on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';

const HOUR = 3600_000;

test('a step of the wall clock neither refills nor locks a rate-limit bucket', async () => {
  const up = await startUpstream();
  const gw = await startGateway(`
version: 1
listeners: [{ port: 0 }]
abuse: { enabled: false }
upstreams:
  up: { targets: [{ url: "${up.url}" }] }
routes:
  - { id: limited, match: { prefix: /limited }, upstream: up, auth: none, rate_limit: { limits: [{ name: ip, key: [ip], rate: 6/min, burst: 2 }] } }
`);
  // steady time `t` runs only when the test moves it; the wall clock is `t` + `step`
  let t = Date.now();
  let step = 0;
  const services = gw.gateway.services;
  services.steadyClock = () => t;
  services.clock = () => t + step;
  const status = async (): Promise<number> => {
    const r = await request(`${gw.url}/limited`);
    await r.body.text();
    return r.statusCode;
  };
  try {
    assert.deepEqual([await status(), await status(), await status()], [200, 200, 429], 'burst 2, then refused');
    step = HOUR;
    assert.equal(await status(), 429, 'the wall clock an hour ahead does not refill the bucket');
    step = -HOUR;
    t += 10_000; // one token (6/min) in steady time
    assert.deepEqual([await status(), await status()], [200, 429], 'the wall clock an hour behind does not lock the bucket');
  } finally {
    await gw.close();
    await up.close();
  }
});
