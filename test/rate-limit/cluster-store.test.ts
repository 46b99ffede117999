import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { MemoryStore } from '../../src/store/memory.js';
import { ClusterStore, serveClusterStore } from '../../src/store/cluster.js';
import { StoreUnavailableError, type LimitCheck } from '../../src/core/state.js';

const memory = new MemoryStore({ maxEntries: 1000 });
const stop = serveClusterStore(memory);
cluster.setupPrimary({ exec: fileURLToPath(new URL('./cluster-worker.js', import.meta.url)), silent: false });

const workers: Worker[] = [];
after(() => {
  stop();
  for (const w of workers) if (!w.isDead()) w.kill();
});

async function fork(): Promise<Worker> {
  const w = cluster.fork();
  workers.push(w);
  await new Promise<void>((resolve) => {
    const on = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && 'ready' in m) {
        w.off('message', on);
        resolve();
      }
    };
    w.on('message', on);
  });
  return w;
}

function ask<T>(w: Worker, job: Record<string, unknown>): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && 'result' in m) {
        w.off('message', on);
        resolve((m as { result: T }).result);
      }
    };
    w.on('message', on);
    w.send(job);
  });
}

test('three workers sending 200 decisions at once share one global bucket: exactly 50 of 25/s burst 50', async () => {
  const ws = await Promise.all([fork(), fork(), fork()]);
  const check: LimitCheck = { kind: 'bucket', key: 'b:g:global', intervalMs: 40, burst: 50, enforce: true };
  const now = Date.now();
  const counts = await Promise.all(ws.map((w, i) => ask<number>(w, { job: 'burst', check, n: i === 0 ? 68 : 66, now })));
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    50,
  );
});

test('once/incr/set/get/del/scan from a worker act on the primary store', async () => {
  const w = await fork();
  const r = await ask<Record<string, unknown>>(w, { job: 'ops' });
  assert.deepEqual(r, { first: true, second: false, n: 3, v: 'test', list: ['ban:9.9.9.9'], gone: null });
  assert.equal(memory.getSync('count'), '3');
});

test('concurrency slots held by a worker that exits are released by the primary', async () => {
  const w = await fork();
  const check: LimitCheck = { kind: 'concurrency', key: 'c:slots', max: 10, leaseMs: 60000, enforce: true };
  const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  const held = await ask<number>(w, { job: 'hold', check, n: 3, now: Date.now() });
  assert.equal(held, 3);
  await exited;
  await new Promise((r) => setImmediate(r));
  assert.equal(memory.inFlightKeys, 0);
});

class SilentChannel extends EventEmitter {
  connected = true;
  sent: unknown[] = [];
  send(m: unknown): boolean {
    this.sent.push(m);
    return true;
  }
}

test('a call the primary never answers is rejected after the timeout, not left hanging', async () => {
  const ch = new SilentChannel();
  const s = new ClusterStore({ timeoutMs: 50, channel: ch });
  await assert.rejects(s.get('x'), StoreUnavailableError);
  assert.equal(ch.sent.length, 1);
  await s.close();
});

test('a worker without a channel to the primary reports unhealthy and refuses calls at once', async () => {
  const ch = new SilentChannel();
  ch.connected = false;
  const s = new ClusterStore({ timeoutMs: 5000, channel: ch });
  assert.equal(s.healthy(), false);
  await assert.rejects(s.limit([], Date.now()), StoreUnavailableError);
  assert.equal(ch.sent.length, 0);
  await s.close();
});

test('pending calls beyond the bound are refused', async () => {
  const ch = new SilentChannel();
  const s = new ClusterStore({ timeoutMs: 1000, maxPending: 2, channel: ch });
  const p1 = s.get('a');
  const p2 = s.get('b');
  await assert.rejects(s.get('c'), /too many pending/);
  await s.close();
  await assert.rejects(p1, StoreUnavailableError);
  await assert.rejects(p2, StoreUnavailableError);
});

test('a decision that arrives after its timeout gives its concurrency slot back', async () => {
  const ch = new SilentChannel();
  const s = new ClusterStore({ timeoutMs: 20, channel: ch });
  await assert.rejects(s.limit([{ kind: 'concurrency', key: 'c', max: 1, leaseMs: 1000, enforce: true }], Date.now()), StoreUnavailableError);
  const call = ch.sent[0] as { id: number };
  ch.emit('message', { __portcullisStore: 1, id: call.id, ok: true, value: { allowed: true, checks: [], lease: { id: '1:7', keys: ['c'] } } });
  assert.deepEqual(ch.sent[1], { __portcullisStore: 1, id: 0, op: 'release', args: [{ id: '1:7', keys: ['c'] }] });
  await s.close();
});
