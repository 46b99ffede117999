import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeLine, verifyAuditText } from './audit.js';

function genuine(n: number): string[] {
  const lines: string[] = [];
  let prev: { line: string | null; seq: number } = { line: null, seq: -1 };
  for (let i = 0; i < n; i++) {
    const { line } = makeLine(prev, i % 2 ? 'ban_placed' : 'config_loaded', { i, client: `10.0.0.${i}` }, Date.UTC(2026, 0, 1) + i * 1000);
    lines.push(line);
    prev = { line, seq: prev.seq + 1 };
  }
  return lines;
}

test('changing any one character of a genuine log is reported at or before that line', () => {
  const lines = genuine(12);
  assert.equal(verifyAuditText(`${lines.join('\n')}\n`).ok, true);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 11 }), fc.nat(), fc.integer({ min: 32, max: 126 }), (li, pos, code) => {
      const line = lines[li] as string;
      const at = pos % line.length;
      if (line.charCodeAt(at) === code) return;
      const edited = [...lines];
      edited[li] = line.slice(0, at) + String.fromCharCode(code) + line.slice(at + 1);
      const r = verifyAuditText(`${edited.join('\n')}\n`);
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.line <= li + 1 && r.line >= li, `edit on line ${li + 1} reported at ${!r.ok && r.line}`);
    }),
  );
});

test('removing or swapping lines is always reported at the first affected line', () => {
  const lines = genuine(10);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 9 }), (i) => {
      const removed = lines.filter((_, j) => j !== i);
      const r = verifyAuditText(`${removed.join('\n')}\n`);
      if (i === 9)
        assert.equal(r.ok, true); // the last line removed leaves a valid shorter chain
      else assert.ok(!r.ok && r.line === i + 1 && r.problem === 'removed', JSON.stringify(r));
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 8 }), (i) => {
      const swapped = [...lines];
      [swapped[i], swapped[i + 1]] = [swapped[i + 1] as string, swapped[i] as string];
      const r = verifyAuditText(`${swapped.join('\n')}\n`);
      assert.ok(!r.ok && r.line === i + 1 && r.problem === 'reordered', JSON.stringify(r));
    }),
  );
});
