import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const warmUp = fileURLToPath(new URL('./warm-up.js', import.meta.url));

// In a fresh process (natives syntax lets it ask V8 whether two objects share a shape):
// fill the root map's transitions as compiling schemas does, then check that objects built key
// by key with new keys share a shape only after releaseStartupShapes().
const script = `
import { releaseStartupShapes } from ${JSON.stringify(warmUp)};
const sameShape = new Function('a', 'b', 'return %HaveSameMap(a, b)');
for (let i = 0; i < 3000; i++) { const o = {}; o['startup_key_' + i] = i; }
const before = () => { const o = {}; o.fresh_a = 1; o.fresh_b = 2; return o; };
const b = sameShape(before(), before());
releaseStartupShapes();
const after = () => { const o = {}; o.fresh_c = 1; o.fresh_d = 2; return o; };
const a = sameShape(after(), after());
console.log(JSON.stringify({ before: b, after: a, gcExposed: typeof globalThis.gc }));
`;

test('releaseStartupShapes lets new object shapes be shared again once the root map was filled', () => {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8' });
  const r = JSON.parse(out.trim()) as { before: boolean; after: boolean; gcExposed: string };
  assert.equal(r.before, false, 'with the root map full, each object gets a shape of its own');
  assert.equal(r.after, true, 'after the release, objects built the same way share one shape');
  assert.equal(r.gcExposed, 'undefined', 'gc() is not left on the global object');
});
