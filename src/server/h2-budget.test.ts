import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUDGET_WINDOW_MS, ConnectionBudgets, WindowBudget, floodOfSessionError } from './h2-budget.js';

const limits = { max_resets_per_10s: 100, max_streams_per_10s: 1000, max_settings_per_10s: 20, max_pings_per_10s: 20 };

test('a window budget allows a burst of its limit, then refuses, and refills at limit per window', () => {
  const b = new WindowBudget(10, 10_000, 0);
  for (let i = 0; i < 10; i++) assert.equal(b.take(0), true, `event ${i}`);
  assert.equal(b.take(0), false, 'the 11th event at once is over budget');
  // 1 s refills one token (10 per 10 s)
  const b2 = new WindowBudget(10, 10_000, 0);
  for (let i = 0; i < 10; i++) b2.take(0);
  assert.equal(b2.take(1000), true);
  assert.equal(b2.take(1000), false);
  assert.equal(Math.round(b2.left(1000 + 10_000)), 10, 'never more than the limit');
});

test('a steady rate at the limit never runs out; a rate above it does', () => {
  const steady = new WindowBudget(100, 10_000, 0);
  for (let t = 0; t < 60_000; t += 100) assert.equal(steady.take(t), true, `at ${t} ms`);
  const fast = new WindowBudget(100, 10_000, 0);
  let refusedAt = -1;
  for (let t = 0; t < 60_000 && refusedAt < 0; t += 50) if (!fast.take(t)) refusedAt = t;
  // 20/s against 10/s: the burst of 100 lasts about 10 s
  assert.ok(refusedAt > 9_000 && refusedAt < 11_000, `refused at ${refusedAt}`);
});

test('a time that goes backwards refills nothing', () => {
  const b = new WindowBudget(2, 10_000, 5_000);
  b.take(5_000);
  b.take(5_000);
  assert.equal(b.take(1_000), false);
});

test('connection budgets name the kind that ran out', () => {
  const c = new ConnectionBudgets(limits, 0);
  for (let i = 0; i < 100; i++) assert.equal(c.reset(0), null);
  assert.equal(c.reset(0), 'stream_resets');
  const p = new ConnectionBudgets(limits, 0);
  for (let i = 0; i < 20; i++) assert.equal(p.ping(0), null);
  assert.equal(p.ping(0), 'pings');
  const s = new ConnectionBudgets(limits, 0);
  // the client's first SETTINGS frame (the preface) is not counted
  for (let i = 0; i < 21; i++) assert.equal(s.settingsFrame(0), null);
  assert.equal(s.settingsFrame(0), 'settings');
  const n = new ConnectionBudgets(limits, 0);
  for (let i = 0; i < 1000; i++) assert.equal(n.stream(0), null);
  assert.equal(n.stream(0), 'new_streams');
  assert.equal(n.reset(BUDGET_WINDOW_MS), null, 'budgets are separate');
});

test('streams the gateway never saw (refused before any event) count as streams and resets', () => {
  const c = new ConnectionBudgets(limits, 0);
  // streams 1 and 3 were seen; nghttp2 processed up to stream 9: 7, 5 and ... 9 were refused unseen
  c.stream(0);
  c.stream(0);
  assert.equal(c.peerStreamId(3, 0), null, 'nothing hidden');
  assert.equal(c.peerStreamId(9, 0), null, 'three hidden resets, within budget');
  assert.equal(c.peerStreamId(9, 0), null, 'counted once');
  // 97 more unseen streams: 100 hidden resets in all... and one more runs out
  assert.equal(c.peerStreamId(9 + 2 * 97, 0), null);
  assert.equal(c.peerStreamId(9 + 2 * 98, 0), 'stream_resets');
  assert.equal(new ConnectionBudgets(limits, 0).peerStreamId(0, 0), null, 'no stream yet');
});

test('the errors with which node:http2 closes a session for a flood are read by kind; other errors are no flood', () => {
  assert.equal(floodOfSessionError('ERR_HTTP2_TOO_MANY_INVALID_FRAMES', -902), 'invalid_frames');
  assert.equal(floodOfSessionError('ERR_HTTP2_ERROR', -905), 'continuations');
  assert.equal(floodOfSessionError('ERR_HTTP2_ERROR', -904), 'outbound_queue');
  assert.equal(floodOfSessionError('ERR_HTTP2_ERROR', -902), 'rejected_streams');
  assert.equal(floodOfSessionError('ERR_HTTP2_ERROR', -505), null, 'a plain protocol error');
  assert.equal(floodOfSessionError('ECONNRESET', undefined), null);
  assert.equal(floodOfSessionError(undefined, undefined), null);
});
