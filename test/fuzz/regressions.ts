/** Saved fuzz failures: test/fuzz/regressions/<target>-<hash>.json, replayed by every test run. */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './targets.js';

export const REGRESSIONS = join(ROOT, 'test', 'fuzz', 'regressions');

export interface Regression {
  readonly target: string;
  readonly input: string;
  /** what failed when it was found (the fix makes it pass) */
  readonly error: string;
  readonly found: string;
}

export function loadRegressions(): Regression[] {
  let names: string[];
  try {
    names = readdirSync(REGRESSIONS).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.sort().map((n) => JSON.parse(readFileSync(join(REGRESSIONS, n), 'utf8')) as Regression);
}

/** Writes a failing input; returns its path (the same input twice is one file). */
export function saveRegression(target: string, input: string, error: string): string {
  mkdirSync(REGRESSIONS, { recursive: true });
  const hash = createHash('sha256').update(target).update('\0').update(input).digest('hex').slice(0, 16);
  const file = join(REGRESSIONS, `${target}-${hash}.json`);
  const r: Regression = { target, input, error: error.slice(0, 2000), found: new Date().toISOString() };
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
  return file;
}
