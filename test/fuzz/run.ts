/**
 * The long fuzz run: `npm run fuzz -- --minutes N [--only NAME,...]`. Each target gets an equal
 * share of the time; a failing input is shrunk by fast-check, saved into test/fuzz/regressions/
 * (replayed by every test run from then on) and the target goes on with a new seed. Prints one
 * line per target: inputs tried, failures saved, and the process's RSS before and after.
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { cleanup, TARGETS } from './targets.js';
import { saveRegression } from './regressions.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '1' }, only: { type: 'string' } } });
const minutes = Number(values.minutes);
if (!(minutes > 0)) throw new Error('--minutes must be a positive number');
const only = values.only?.split(',');
const targets = TARGETS.filter((t) => only === undefined || only.includes(t.name));
if (targets.length === 0) throw new Error(`no target named ${values.only}; targets: ${TARGETS.map((t) => t.name).join(', ')}`);
const shareMs = (minutes * 60_000) / targets.length;
const mb = (): number => Math.round(process.memoryUsage().rss / 1048576);

let failed = 0;
for (const t of targets) {
  const until = Date.now() + shareMs;
  let tried = 0;
  let saved = 0;
  const rssBefore = mb();
  await t.start?.();
  try {
    while (Date.now() < until) {
      const details = await fc.check(
        fc.asyncProperty(t.input, async (input) => {
          tried++;
          await t.check(input);
        }),
        { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: Math.max(1000, until - Date.now()), markInterruptAsFailure: false },
      );
      if (!details.failed || details.counterexample === null) break;
      const input = details.counterexample[0] as string;
      const err = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      const file = saveRegression(t.name, input, err);
      saved++;
      failed++;
      console.log(`fuzz ${t.name}: FAILED (seed ${details.seed}), saved ${file}\n  ${err.split('\n')[0]}`);
    }
  } finally {
    await t.stop?.();
  }
  console.log(`fuzz ${t.name}: ${tried} inputs in ${(shareMs / 1000).toFixed(0)} s, ${saved} failure(s) saved, RSS ${rssBefore} -> ${mb()} MB`);
}
cleanup();
console.log(failed === 0 ? 'fuzz: nothing found' : `fuzz: ${failed} failure(s) saved in test/fuzz/regressions/`);
process.exit(failed === 0 ? 0 : 1);
