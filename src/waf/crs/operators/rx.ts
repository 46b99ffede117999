/** `@rx`: a PCRE pattern as ModSecurity v3 runs it, translated (pcre.ts) and run in linear time. */
import { CrsUnsupported, type CrsOperator } from '../contract.js';
import { asBytes } from './bytes.js';
import { compileLinear } from './linear-regex.js';
import { CR_SENTINEL, translatePcre } from './pcre.js';

const CR_BACK = new RegExp(CR_SENTINEL, 'g');

/** Compiles `@rx param`; throws CrsUnsupported when the pattern cannot run exactly in linear time. */
export function compileRx(param: string): CrsOperator {
  // ModSecurity runs an empty pattern as ".*"
  const t = translatePcre(param === '' ? '.*' : asBytes(param));
  let re: RegExp;
  try {
    re = compileLinear(t.source, t.flags);
  } catch (err) {
    const msg = (err as Error).message;
    const why = /linear time/.test(msg) ? 'beyond the linear-time engine (counted repetition over 16 copies, e.g. {1,255})' : msg;
    throw new CrsUnsupported(`@rx: ${why}`);
  }
  const sentinel = t.crSentinel;
  return (value, run) => {
    const input = sentinel && value.includes('\r') ? value.replaceAll('\r', CR_SENTINEL) : value;
    if (run.captures === null) return re.test(input);
    const m = re.exec(input);
    if (m === null) return false;
    run.captures.length = 0;
    for (let g = 0; g < m.length && g < 10; g++) {
      const s = m[g] ?? '';
      run.captures.push(sentinel ? s.replace(CR_BACK, '\r') : s);
    }
    return true;
  };
}
