import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aimdStep, AdaptiveController, p95, scaleBucket, type AdaptiveConfig } from './adaptive.js';

const cfg: AdaptiveConfig = { p95_latency_ms: 100, error_rate: 0.1, window_ms: 1000, min_samples: 10, decrease: 0.5, increase: 0.1, min_factor: 0.1 };

test('AIMD halves the factor when p95 latency or the 5xx rate passes its threshold, and adds back otherwise (table)', () => {
  const rows: [number, { samples: number; p95: number; errorRate: number }, number][] = [
    [1, { samples: 100, p95: 150, errorRate: 0 }, 0.5],
    [1, { samples: 100, p95: 50, errorRate: 0.2 }, 0.5],
    [0.5, { samples: 100, p95: 50, errorRate: 0 }, 0.6],
    [1, { samples: 100, p95: 50, errorRate: 0 }, 1],
    [0.15, { samples: 100, p95: 500, errorRate: 0 }, 0.1],
    [0.5, { samples: 5, p95: 500, errorRate: 1 }, 0.6], // too few samples: healthy
  ];
  for (const [f, s, want] of rows) assert.ok(Math.abs(aimdStep(f, s, cfg) - want) < 1e-9, `${f} ${JSON.stringify(s)}`);
});

test('p95 is the nearest-rank 95th percentile', () => {
  const v = Float64Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(p95(v, 100), 95);
  assert.equal(p95(new Float64Array(0), 0), 0);
});

test('scaling a bucket lowers its rate and burst, never below one token', () => {
  assert.deepEqual(scaleBucket(40, 50, 0.5), { intervalMs: 80, burst: 25 });
  assert.deepEqual(scaleBucket(40, 1, 0.1), { intervalMs: 400, burst: 1 });
  assert.deepEqual(scaleBucket(40, 50, 1), { intervalMs: 40, burst: 50 });
});

test('the controller shrinks the factor while the upstream is slow and recovers after', () => {
  const seen: number[] = [];
  const c = new AdaptiveController(cfg, (f) => seen.push(f));
  let now = 0;
  for (let w = 0; w < 3; w++) {
    for (let i = 0; i < 20; i++) c.observe(300, false, now + i);
    now += 1000;
  }
  assert.equal(c.factorAt(now), 0.125);
  for (let w = 0; w < 3; w++) {
    for (let i = 0; i < 20; i++) c.observe(10, false, now + i);
    now += 1000;
  }
  assert.ok(Math.abs(c.factorAt(now) - 0.425) < 1e-9, String(c.factor));
  // an idle period counts as healthy windows
  assert.equal(c.factorAt(now + 20000), 1);
  assert.ok(seen.length >= 6);
});
