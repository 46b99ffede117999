/**
 * The regexes of test files (`response_contains`, `log.match_regex`, ...), written for Go's RE2,
 * compiled for V8's linear-time engine (the `l` flag) so that no pattern can backtrack on a long
 * response or log line. RE2's leading inline flags (`(?i)`, `(?s)`, `(?m)`) become JS flags. Where
 * this Node has no linear engine, patterns run on the default engine (test files are the user's own).
 * V8's linear engine has no `i` flag: case-insensitive patterns are rewritten with both cases of
 * each ASCII letter (`a` → `[aA]`, `[a-f]` → `[a-fA-F]`).
 */
import { setFlagsFromString } from 'node:v8';

let linear: boolean | null = null;
function linearEngine(): boolean {
  if (linear === null) {
    try {
      setFlagsFromString('--enable-experimental-regexp-engine');
      // biome-ignore lint/complexity/useRegexLiterals: the l flag exists only after the V8 flag above is set
      linear = new RegExp('a', 'l').test('a');
    } catch {
      linear = false;
    }
  }
  return linear;
}

const isLower = (c: string): boolean => c >= 'a' && c <= 'z';
const isUpper = (c: string): boolean => c >= 'A' && c <= 'Z';
const other = (c: string): string => (isLower(c) ? c.toUpperCase() : c.toLowerCase());

/** `p` matching ASCII letters in either case, without the `i` flag (escapes are kept as written). */
export function caseFold(p: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '\\') {
      out += c + (p[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') {
        inClass = false;
        out += c;
        continue;
      }
      const end = p[i + 2];
      if (p[i + 1] === '-' && end !== undefined && end !== ']' && end !== '\\') {
        // a range: its other-case twin too when both ends are letters of one case
        out += `${c}-${end}`;
        if ((isLower(c) && isLower(end)) || (isUpper(c) && isUpper(end))) out += `${other(c)}-${other(end)}`;
        i += 2;
        continue;
      }
      out += isLower(c) || isUpper(c) ? c + other(c) : c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (p[i + 1] === '^') {
        out += '^';
        i++;
      }
      continue;
    }
    out += isLower(c) || isUpper(c) ? `[${c}${other(c)}]` : c;
  }
  return out;
}

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
