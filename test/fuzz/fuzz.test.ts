/**
 * The CI fuzz run: every target of test/fuzz/targets.ts for its fixed number of generated inputs
 * (a new seed each run, printed with any failure so that it can be replayed with
 * `PORTCULLIS_FUZZ_SEED`), then every saved regression input. `npm run fuzz -- --minutes N` runs
 * the same targets for longer and saves what fails into test/fuzz/regressions/.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cleanup, TARGETS } from './targets.js';
import { loadRegressions } from './regressions.js';

after(cleanup);

const seed = process.env['PORTCULLIS_FUZZ_SEED'] === undefined ? undefined : Number(process.env['PORTCULLIS_FUZZ_SEED']);

for (const t of TARGETS) {
  test(`fuzz ${t.name}: ${t.what}: no crash, hang or broken promise over ${t.ciRuns} inputs`, async (tc) => {
    await t.start?.();
    try {
      await fc.assert(
        fc.asyncProperty(t.input, async (input) => {
          await t.check(input);
        }),
        { numRuns: t.ciRuns, includeErrorInReport: true, ...(seed === undefined ? {} : { seed }) },
      );
    } finally {
      await t.stop?.();
    }
    const seen = Object.fromEntries(t.seen);
    for (const o of t.expect) assert.ok((t.seen.get(o) ?? 0) > 0, `the generator never reached "${o}": ${JSON.stringify(seen)}`);
    tc.diagnostic(`outcomes: ${JSON.stringify(seen)}`);
  });
}

test('every saved fuzz regression input now passes its target', async () => {
  const byName = new Map(TARGETS.map((t) => [t.name, t]));
  const saved = loadRegressions();
  for (const r of saved) assert.ok(byName.has(r.target), `regression for unknown target ${r.target}`);
  for (const t of TARGETS) {
    const mine = saved.filter((r) => r.target === t.name);
    if (mine.length === 0) continue;
    await t.start?.();
    try {
      for (const r of mine) await t.check(r.input);
    } finally {
      await t.stop?.();
    }
  }
});
