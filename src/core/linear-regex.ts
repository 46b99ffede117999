/**
 * The one seam to V8's linear-time regexp engine: every regex made here runs in time linear in its
 * input, whatever the pattern, or is refused at compile time.
 *
 * V8 has an automaton-based engine (the `l` flag) behind --enable-experimental-regexp-engine, and
 * can also start a regex on its fast backtracking engine (irregexp, JIT) and move it to the
 * automaton when it has backtracked more than --regexp-backtracks-before-fallback times
 * (--enable-experimental-regexp-engine-on-excessive-backtracks). This module sets those flags at
 * run time (v8.setFlagsFromString: a V8-internals trick) and checks at load that they took effect:
 * - mode 'fallback' (preferred, about 15x faster on CRS patterns): regexes run on irregexp and fall
 *   back after BACKTRACK_LIMIT backtracks. Only patterns that the automaton accepts are compiled
 *   here (checked by compiling them with `l`), so every regex has the fallback; a run costs at most
 *   BACKTRACK_LIMIT backtracks plus one linear pass;
 * - mode 'linear': every regex carries `l` (used when the fallback's self-check fails);
 * - unavailable: compiling throws, with the reason.
 * The self-check runs `^(a|a)*$` (exponential on a backtracking engine) on 5,001 chars: it must
 * give the right answer within 200 ms.
 *
 * The fallback flag is process-wide: any regex of the gateway that backtracks past the limit moves
 * to the automaton when the automaton can run it (same results, bounded time): a safety net for
 * every regex, set on the first use of this module (the validation stage and the CRS engine).
 *
 * Limits of the automaton (V8 in Node 20-24): no `i` and no `u`/`v` flags, no lookaround or
 * backreferences, and at most 16 copies of any atom once counted repetitions are unrolled
 * (`x{17}`, `x{1,20}`, `(?:x{4}){5}` are refused).
 */
import { setFlagsFromString } from 'node:v8';

/** backtracks before a regex moves to the automaton (V8's default is 50,000) */
export const BACKTRACK_LIMIT = 10_000;

export type LinearRegexState = { readonly mode: 'fallback' | 'linear' } | { readonly mode: 'unavailable'; readonly reason: string };

let state: LinearRegexState | null = null;

/** ms taken by `re` on the pathological probe, or -1 when it answered wrongly */
function probe(re: RegExp): number {
  const input = `${'a'.repeat(5_000)}b`;
  const start = performance.now();
  const matched = re.test(input);
  const ms = performance.now() - start;
  return matched ? -1 : ms;
}

function selfCheck(): LinearRegexState {
  try {
    setFlagsFromString('--enable-experimental-regexp-engine');
    // biome-ignore lint/complexity/useRegexLiterals: the l flag parses only once the V8 flag above is set
    const linear = probe(new RegExp('^(a|a)*$', 'l'));
    if (linear < 0 || linear > 200) {
      return { mode: 'unavailable', reason: `V8's linear regexp engine failed its self-check (${linear < 0 ? 'wrong answer' : `${linear.toFixed(0)} ms`})` };
    }
  } catch (err) {
    return { mode: 'unavailable', reason: `V8's linear regexp engine is not available: ${(err as Error).message}` };
  }
  try {
    setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
    setFlagsFromString(`--regexp-backtracks-before-fallback=${BACKTRACK_LIMIT}`);
    // biome-ignore lint/complexity/useRegexLiterals: built from a string like every regex of this module
    const fallback = probe(new RegExp('^(a|a)*$', 's'));
    if (fallback >= 0 && fallback <= 200) return { mode: 'fallback' };
  } catch {
    // keep the linear mode
  }
  return { mode: 'linear' };
}

/** The engine's state (the self-check runs once, on first use). */
export function linearRegexState(): LinearRegexState {
  state ??= selfCheck();
  return state;
}

/**
 * Compiles `source` with `flags` (no `i`, `u` or `v`: the automaton has none) for linear-time
 * matching. Throws an Error saying why when the engine is unavailable or the pattern is beyond it.
 */
export function compileLinear(source: string, flags: string): RegExp {
  const s = linearRegexState();
  if (s.mode === 'unavailable') throw new Error(s.reason);
  // the automaton must accept the pattern: it is the fallback's guarantee
  const linear = new RegExp(source, `${flags}l`);
  return s.mode === 'linear' ? linear : new RegExp(source, flags);
}

/** Whether the `l` flag works in this process (the self-check above passed). */
export function linearEngine(): boolean {
  return linearRegexState().mode !== 'unavailable';
}

// the automaton has no `i` flag: caseFold spells case-insensitive patterns out
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
