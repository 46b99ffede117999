import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRequestId } from './request-id.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('request ids are version 4 UUIDs, unique across many batches', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const id = newRequestId();
    assert.match(id, V4);
    seen.add(id);
  }
  assert.equal(seen.size, 20_000);
});

test('request ids are uniformly random outside the version and variant bits', () => {
  // each hex digit of the random part takes each of its 16 values about equally often
  const counts = new Map<string, number>();
  const n = 16_000;
  for (let i = 0; i < n; i++) {
    const c = newRequestId()[0] as string;
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  assert.equal(counts.size, 16);
  for (const [, k] of counts) assert.ok(k > n / 16 / 2 && k < (n / 16) * 2, `digit count ${k} of ${n}`);
  const variants = new Set<string>();
  for (let i = 0; i < 400; i++) variants.add(newRequestId()[19] as string);
  assert.deepEqual([...variants].sort(), ['8', '9', 'a', 'b']);
});
