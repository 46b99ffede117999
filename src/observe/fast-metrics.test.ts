import { test } from 'node:test';
import assert from 'node:assert/strict';
import client from 'prom-client';
import { FastCounter, FastHistogram, register } from './fast-metrics.js';

test('a fast counter keeps one series per label combination, caps the series, and renders through prom-client', async () => {
  const c = new FastCounter('t_requests_total', 'help', ['route', 'status_class'], 3);
  c.inc(['r1', '2xx']);
  c.inc(['r1', '2xx'], 2);
  c.inc(['r1', '5xx']);
  c.inc(['r2', '2xx']);
  c.inc(['r3', '2xx']); // over the cap: not counted
  const v = (await c.get()).values.map((x) => [x.labels.route, x.labels.status_class, x.value]);
  assert.deepEqual(v, [
    ['r1', '2xx', 3],
    ['r1', '5xx', 1],
    ['r2', '2xx', 1],
  ]);
  const reg = new client.Registry();
  register(reg, c);
  assert.match(await reg.metrics(), /t_requests_total\{route="r1",status_class="2xx"\} 3/);
  c.reset();
  assert.deepEqual((await c.get()).values, []);
  c.inc(['r3', '2xx']);
  assert.equal((await c.get()).values.length, 1);
});

test('label values that would collide when joined stay separate series', async () => {
  const c = new FastCounter('t_total', 'help', ['a', 'b']);
  c.inc(['x\u0000y', 'z']);
  c.inc(['x', 'y\u0000z']);
  assert.equal((await c.get()).values.length, 2);
});

test('a fast histogram counts each observation in its bucket', async () => {
  const h = new FastHistogram('t_seconds', 'help', 'route', [0.1, 1]);
  h.observe('r', 0.05);
  h.observe('r', 0.5);
  h.observe('r', 5);
  const vals = (await h.get()).values.map((x) => [x.metricName, x.labels.le ?? '', x.value]);
  assert.deepEqual(vals, [
    ['t_seconds_bucket', '0.1', 1],
    ['t_seconds_bucket', '1', 2],
    ['t_seconds_bucket', '+Inf', 3],
    ['t_seconds_sum', '', 5.55],
    ['t_seconds_count', '', 3],
  ]);
});

test('inc4 counts like inc whether consecutive calls share their labels or not, the cap and reset included', async () => {
  const a = new FastCounter('t_a_total', 'help', ['route', 'class', 'decision', 'listener'], 3);
  const b = new FastCounter('t_b_total', 'help', ['route', 'class', 'decision', 'listener'], 3);
  const calls: [string, string, string, string][] = [
    ['r1', '2xx', 'allowed', 'main'],
    ['r1', '2xx', 'allowed', 'main'],
    ['r1', '4xx', 'denied', 'main'],
    ['r1', '2xx', 'allowed', 'main'],
    ['r2', '2xx', 'allowed', 'main'],
    ['r3', '2xx', 'allowed', 'main'], // over the cap
    ['r3', '2xx', 'allowed', 'main'],
    ['r1', '2xx', 'allowed', 'other'], // over the cap
    ['r2', '2xx', 'allowed', 'main'],
  ];
  const values = async (c: FastCounter) => (await c.get()).values.map((x) => [...Object.values(x.labels), x.value]);
  for (const [w, x, y, z] of calls) {
    a.inc4(w, x, y, z);
    b.inc([w, x, y, z]);
  }
  assert.deepEqual(await values(a), await values(b));
  assert.deepEqual(await values(a), [
    ['r1', '2xx', 'allowed', 'main', 3],
    ['r1', '4xx', 'denied', 'main', 1],
    ['r2', '2xx', 'allowed', 'main', 2],
  ]);
  a.reset();
  a.inc4('r2', '2xx', 'allowed', 'main'); // the series before the reset is not counted into
  assert.deepEqual(await values(a), [['r2', '2xx', 'allowed', 'main', 1]]);
});

test('a fast histogram counts into the right series when labels alternate, and after a reset', async () => {
  const h = new FastHistogram('t_alt_seconds', 'help', 'route', [1]);
  for (const r of ['a', 'a', 'b', 'a', 'b', 'b']) h.observe(r, 0.5);
  const counts = async () => (await h.get()).values.filter((x) => x.metricName === 't_alt_seconds_count').map((x) => [x.labels.route, x.value]);
  assert.deepEqual(await counts(), [
    ['a', 3],
    ['b', 3],
  ]);
  h.reset();
  h.observe('b', 0.5);
  assert.deepEqual(await counts(), [['b', 1]]);
});
