/**
 * A small registry of transformations and operators for the loader's and interpreter's tests (the
 * real ones live in ../transformations/ and ../operators/). Anything else is CrsUnsupported, so
 * that the CRS corpus test can tell which rules are missing only because of this registry.
 */
import { CrsUnsupported } from '../contract.js';
import type { CrsOperator, OperatorCompiler, TransformationRegistry } from '../contract.js';
import { percentDecode } from '../variables.js';

export const TEST_TRANSFORMATIONS: TransformationRegistry = new Map([
  ['lowercase', (v: string) => v.toLowerCase()],
  ['urldecodeuni', (v: string) => percentDecode(v, true)],
  ['urldecode', (v: string) => percentDecode(v, true)],
  ['removenulls', (v: string) => v.replace(/\u0000/g, '')],
  ['compresswhitespace', (v: string) => v.replace(/\s+/g, ' ')],
  ['removewhitespace', (v: string) => v.replace(/\s+/g, '')],
  ['length', (v: string) => String(v.length)],
  ['trim', (v: string) => v.trim()],
]);

const num = (s: string): number => {
  const n = Number.parseInt(s, 10);
  return Number.isFinite(n) ? n : 0;
};

/** `(?i)` and `(?s)` prefixes read as JavaScript flags; other PCRE syntax is left as it is. */
function regex(param: string): RegExp {
  let flags = '';
  let src = param;
  for (;;) {
    const m = /^\(\?([is]+)\)/.exec(src);
    if (m === null) break;
    for (const f of m[1] as string) if (!flags.includes(f)) flags += f;
    src = src.slice(m[0].length);
  }
  try {
    return new RegExp(src, flags);
  } catch (e) {
    throw new CrsUnsupported(`test registry: regex not readable by JavaScript (${(e as Error).message})`);
  }
}

export const testOperators: OperatorCompiler = (name, param) => {
  switch (name) {
    case 'rx': {
      const re = regex(param);
      const op: CrsOperator = (v, run) => {
        const m = re.exec(v);
        if (m === null) return false;
        if (run.captures !== null) for (let i = 0; i < m.length && i < 10; i++) run.captures.push(m[i] ?? '');
        return true;
      };
      return op;
    }
    case 'streq':
      return (v) => v === param;
    case 'beginswith':
      return (v) => v.startsWith(param);
    case 'endswith':
      return (v) => v.endsWith(param);
    case 'contains':
      return (v) => v.includes(param);
    case 'within':
      return (v) => param.includes(v);
    case 'eq':
      return (v) => num(v) === num(param);
    case 'ge':
      return (v) => num(v) >= num(param);
    case 'gt':
      return (v) => num(v) > num(param);
    case 'le':
      return (v) => num(v) <= num(param);
    case 'lt':
      return (v) => num(v) < num(param);
    case 'pm': {
      const words = param
        .split(/\s+/)
        .filter((w) => w !== '')
        .map((w) => w.toLowerCase());
      return (v) => {
        const l = v.toLowerCase();
        return words.some((w) => l.includes(w));
      };
    }
    case 'unconditionalmatch':
      return () => true;
    case 'nomatch':
      return () => false;
    default:
      throw new CrsUnsupported(`test registry: no operator @${name}`);
  }
};
