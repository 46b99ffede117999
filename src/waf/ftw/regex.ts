/**
 * The regexes of test files (`response_contains`, `log.match_regex`, ...), written for Go's RE2,
 * compiled for V8's linear-time engine (the `l` flag) so that no pattern can backtrack on a long
 * response or log line. RE2's leading inline flags (`(?i)`, `(?s)`, `(?m)`) become JS flags. Where
 * this Node has no linear engine, patterns run on the default engine (test files are the user's own).
 * V8's linear engine has no `i` flag: case-insensitive patterns are rewritten with both cases of
 * each ASCII letter (`a` → `[aA]`, `[a-f]` → `[a-fA-F]`).
 */
import { caseFold, linearEngine } from '../../core/linear-regex.js';

export { caseFold };

const cache = new Map<string, RegExp>();
const MAX_CACHED = 4096;

/** Compiles a test file's regex; throws with the reason when it cannot (syntax, or beyond RE2). */
export function testRegex(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  let p = pattern;
  let flags = '';
  const m = /^\(\?([ims]+)\)/.exec(p);
  if (m !== null) {
    for (const f of m[1] as string) if (!flags.includes(f)) flags += f;
    p = p.slice(m[0].length);
  }
  let re: RegExp;
  try {
    if (linearEngine() && flags.includes('i')) {
      p = caseFold(p);
      flags = flags.replace('i', '');
    }
    re = new RegExp(p, flags + (linearEngine() ? 'l' : ''));
  } catch (e) {
    throw new Error(`regex ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(pattern, re);
  return re;
}
