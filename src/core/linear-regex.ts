/**
 * The seam to V8's linear-time regexp engine (the `l` flag, behind the V8 flag
 * `--enable-experimental-regexp-engine`, set once at run time): every regex on untrusted input
 * whose pattern could backtrack super-linearly runs on it. `linearEngine()` checks once that the
 * flag took effect (a `l` regex compiles and matches) and says false on a Node where it does not;
 * each caller says what it does then. The engine has no `i` flag: `caseFold` rewrites a pattern
 * to match ASCII letters in either case.
 */
import { setFlagsFromString } from 'node:v8';

let linear: boolean | null = null;

/** V8's linear-time regexp engine (the `l` flag), enabled once; false when this Node lacks it. */
export function linearEngine(): boolean {
  if (linear === null) {
    try {
      setFlagsFromString('--enable-experimental-regexp-engine');
      // biome-ignore lint/complexity/useRegexLiterals: the l flag exists only after the V8 flag above is set, so the literal would not parse
      linear = new RegExp('a', 'l').test('a') && !new RegExp('a', 'l').test('b');
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
