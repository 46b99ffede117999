import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NumberLru } from './lru.js';

/** The reference: a Map in insertion order = least recently used first. */
class Model {
  readonly m = new Map<number, { v: number; exp: number }>();
  constructor(readonly max: number) {}
  get(k: number, now: number): number | undefined {
    const e = this.m.get(k);
    if (e === undefined) return undefined;
    if (e.exp <= now) {
      this.m.delete(k);
      return undefined;
    }
    return e.v;
  }
  put(k: number, v: number, exp: number, now: number): void {
    if (this.m.has(k)) {
      this.m.delete(k);
      this.m.set(k, { v, exp });
      return;
    }
    for (let swept = 0; swept < 2; swept++) {
      const first = this.m.entries().next();
      if (first.done || first.value[1].exp > now) break;
      this.m.delete(first.value[0]);
    }
    if (this.m.size >= this.max) this.m.delete(this.m.keys().next().value as number);
    this.m.set(k, { v, exp });
  }
}

// keys from a small pool (collisions, updates, deletes of present keys) and from the whole 53-bit range
const key = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 53 - 1 }));
const op = fc.oneof(
  fc.record({ op: fc.constant('put' as const), k: key, v: fc.double({ noNaN: true }), ttl: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ op: fc.constant('get' as const), k: key }),
  fc.record({ op: fc.constant('del' as const), k: key }),
  fc.record({ op: fc.constant('tick' as const), by: fc.integer({ min: 1, max: 20 }) }),
);

// a broken probe chain shows as a loop that never ends: the timeout turns it into a failure
test('the typed LRU behaves as a reference LRU with expiry, through growth, evictions and deletions', { timeout: 120_000 }, () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3000 }), fc.array(op, { maxLength: 4000 }), (max, ops) => {
      const lru = new NumberLru(max);
      const model = new Model(max);
      let now = 1000;
      for (const o of ops) {
        if (o.op === 'tick') now += o.by;
        else if (o.op === 'put') {
          lru.put(o.k, o.v, now + o.ttl, now);
          model.put(o.k, o.v, now + o.ttl, now);
        } else if (o.op === 'get') assert.equal(lru.get(o.k, now), model.get(o.k, now));
        else assert.equal(lru.delete(o.k), model.m.delete(o.k));
        assert.equal(lru.size, model.m.size);
      }
      assert.deepEqual(lru.keysInOrder(), [...model.m.keys()]);
    }),
    { numRuns: 300 },
  );
});

test('at the cap, a flood of new keys keeps the most recent ones and finds every one of them', { timeout: 60_000 }, () => {
  const lru = new NumberLru(5000);
  for (let i = 0; i < 200_000; i++) lru.put(i * 7919 + 0.5 * (i % 2), i, Infinity, 0);
  assert.equal(lru.size, 5000);
  for (let i = 195_000; i < 200_000; i++) assert.equal(lru.get(i * 7919 + 0.5 * (i % 2), 0), i);
  assert.equal(lru.get(194_999 * 7919 + 0.5, 0), undefined);
  lru.clear();
  assert.equal(lru.size, 0);
  assert.equal(lru.get(199_999 * 7919 + 0.5, 0), undefined);
});
