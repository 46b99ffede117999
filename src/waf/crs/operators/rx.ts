/**
 * `@rx`: a PCRE pattern as ModSecurity v3 runs it, translated (pcre.ts) and run in linear time: on
 * V8's engine (src/core/linear-regex.ts), or, for patterns V8's automaton refuses only for their counted
 * repetitions over 16 copies (`.{1,255}`) or for `\A` / `\z` beside `^` / `$`, on the Pike VM
 * (pike-vm.ts, slower: O(input × pattern)).
 */
import { CrsUnsupported, type CrsOperator, type OperatorRun } from '../contract.js';
import { asBytes } from './bytes.js';
import { compileLinear } from '../../../core/linear-regex.js';
import { CR_SENTINEL, translatePcre } from './pcre.js';
import { compilePike } from './pike-vm.js';

const CR_BACK = new RegExp(CR_SENTINEL, 'g');

function capture(run: OperatorRun, groups: ArrayLike<string | undefined>, restoreCr: boolean): void {
  if (run.captures === null) return;
  run.captures.length = 0;
  for (let g = 0; g < groups.length && g < 10; g++) {
    const s = groups[g] ?? '';
    run.captures.push(restoreCr ? s.replace(CR_BACK, '\r') : s);
  }
}

function pikeOperator(t: ReturnType<typeof translatePcre>): CrsOperator {
  const vm = compilePike(t.source, t.flags);
  return (value, run) => {
    const m = vm.exec(value);
    if (m === null) return false;
    capture(run, m, false);
    return true;
  };
}

/** Which engine runs a compiled `@rx` (for load-time reports and tests). */
export type RxEngine = 'v8' | 'pike';

/** Compiles `@rx param`; throws CrsUnsupported when the pattern cannot run exactly in linear time. */
export function compileRxWithEngine(param: string): { readonly op: CrsOperator; readonly engine: RxEngine } {
  // ModSecurity runs an empty pattern as ".*"
  const pattern = param === '' ? '.*' : asBytes(param);
  let t: ReturnType<typeof translatePcre>;
  try {
    t = translatePcre(pattern);
  } catch (err) {
    // `\A` / `\z` beside `^` / `$`: only the Pike VM has both
    if (!(err instanceof CrsUnsupported) || !/together/.test(err.reason)) throw err;
    return { op: pikeOperator(translatePcre(pattern, false)), engine: 'pike' };
  }
  let re: RegExp;
  try {
    re = compileLinear(t.source, t.flags);
  } catch (err) {
    const msg = (err as Error).message;
    if (!/linear time/.test(msg)) throw new CrsUnsupported(`@rx: ${msg}`);
    return { op: pikeOperator(translatePcre(pattern, false)), engine: 'pike' };
  }
  const sentinel = t.crSentinel;
  const op: CrsOperator = (value, run) => {
    const input = sentinel && value.includes('\r') ? value.replaceAll('\r', CR_SENTINEL) : value;
    if (run.captures === null) return re.test(input);
    const m = re.exec(input);
    if (m === null) return false;
    capture(run, m, sentinel);
    return true;
  };
  return { op, engine: 'v8' };
}

/** Compiles `@rx param` (see compileRxWithEngine). */
export function compileRx(param: string): CrsOperator {
  return compileRxWithEngine(param).op;
}
