import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTraceParent, parseTraceParent, parseTraceState } from './traceparent.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const P = '00f067aa0ba902b7';

test('reads a valid version-00 traceparent and its sampled flag', () => {
  assert.deepEqual(parseTraceParent(`00-${T}-${P}-01`), { traceId: T, parentId: P, sampled: true });
  assert.deepEqual(parseTraceParent(`00-${T}-${P}-00`), { traceId: T, parentId: P, sampled: false });
  // other flag bits are carried by later specs; only bit 0 is read
  assert.deepEqual(parseTraceParent(`00-${T}-${P}-03`), { traceId: T, parentId: P, sampled: true });
  assert.deepEqual(parseTraceParent(`00-${T}-${P}-02`), { traceId: T, parentId: P, sampled: false });
});

test('refuses every malformed traceparent', () => {
  const bad = [
    undefined,
    '',
    [`00-${T}-${P}-01`, `00-${T}-${P}-01`], // repeated header
    `01-${T}-${P}-01`, // an unknown version is not read as 00
    `ff-${T}-${P}-01`,
    `00-${'0'.repeat(32)}-${P}-01`, // all-zero trace id
    `00-${T}-${'0'.repeat(16)}-01`, // all-zero parent id
    `00-${T.toUpperCase()}-${P}-01`, // upper-case hex
    `00-${T}-${P}-1`,
    `00-${T}-${P}-0g`,
    `00-${T.slice(1)}-${P}-01`,
    `00-${T}-${P}-01-extra`,
    ` 00-${T}-${P}-01`,
    `00_${T}_${P}_01`,
  ];
  for (const v of bad) assert.equal(parseTraceParent(v as string | string[] | undefined), null, String(v));
});

test('reads a tracestate within its bounds, joined from repeated headers, empty members skipped', () => {
  assert.equal(parseTraceState('vendor=abc'), 'vendor=abc');
  assert.equal(parseTraceState('a=1, b=2 ,,c@sys=x y'), 'a=1,b=2,c@sys=x y');
  assert.equal(parseTraceState(['a=1', 'b=2']), 'a=1,b=2');
  assert.equal(parseTraceState(undefined), null);
  assert.equal(parseTraceState(' , '), null);
});

test('drops a tracestate that is malformed, repeats a key, has more than 32 members or 512 characters', () => {
  assert.equal(parseTraceState('Vendor=abc'), null); // keys are lowercase
  assert.equal(parseTraceState('a=1,a=2'), null);
  assert.equal(parseTraceState('a=b=c'), null);
  assert.equal(parseTraceState('a='), null);
  assert.equal(parseTraceState('a=x\u0001'), null);
  const members = (n: number): string => Array.from({ length: n }, (_, i) => `k${i}=v`).join(',');
  assert.equal(parseTraceState(members(32))?.split(',').length, 32);
  assert.equal(parseTraceState(members(33)), null);
  assert.equal(parseTraceState(`a=${'x'.repeat(250)},b=${'y'.repeat(250)}`)?.length, 505);
  assert.equal(parseTraceState(`a=${'x'.repeat(255)},b=${'y'.repeat(255)}`), null); // 515 characters
});

test('writes a traceparent that it reads back', () => {
  assert.equal(formatTraceParent(T, P, true), `00-${T}-${P}-01`);
  assert.deepEqual(parseTraceParent(formatTraceParent(T, P, false)), { traceId: T, parentId: P, sampled: false });
});
