/** String and number comparison operators, as ModSecurity v3 defines them. */
import type { CrsOperator } from '../contract.js';
import { asBytes } from './bytes.js';

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/**
 * C++ std::stoi as ModSecurity v3 calls it: leading whitespace, an optional sign, then digits up to
 * the first non-digit ('12abc' is 12); no digits, or a value outside a 32-bit int, gives 0.
 */
export function stoi(s: string): number {
  const m = /^[\t-\r ]*([+-]?)([0-9]+)/.exec(s);
  if (m === null) return 0;
  const digits = m[2]!.replace(/^0+(?=.)/, '');
  if (digits.length > 10) return 0;
  const v = Number(digits) * (m[1] === '-' ? -1 : 1);
  return v < INT_MIN || v > INT_MAX ? 0 : v;
}

export type NumericOp = 'eq' | 'ge' | 'gt' | 'le' | 'lt';

const CMP: Readonly<Record<NumericOp, (a: number, b: number) => boolean>> = {
  eq: (a, b) => a === b,
  ge: (a, b) => a >= b,
  gt: (a, b) => a > b,
  le: (a, b) => a <= b,
  lt: (a, b) => a < b,
};

/** `@eq` ... `@lt`: the value (as an integer) compared with the parameter (as an integer). */
export function compileNumeric(op: NumericOp, param: string): CrsOperator {
  const p = stoi(param);
  const cmp = CMP[op];
  return (value) => cmp(stoi(value), p);
}

function capture(run: { captures: string[] | null }, s: string): void {
  if (run.captures !== null) {
    run.captures.length = 0;
    run.captures.push(s);
  }
}

/** An operator testing `test(value, param)`; with capture it writes the value or the parameter. */
function stringOp(param: string, test: (value: string, p: string) => boolean, captured: 'value' | 'param'): CrsOperator {
  const p = asBytes(param);
  return (value, run) => {
    if (!test(value, p)) return false;
    capture(run, captured === 'value' ? value : p);
    return true;
  };
}

/** `@streq`: the value equals the parameter. */
export const compileStreq = (param: string): CrsOperator => stringOp(param, (v, p) => v === p, 'value');

/** `@beginsWith` */
export const compileBeginsWith = (param: string): CrsOperator => stringOp(param, (v, p) => v.startsWith(p), 'param');

/** `@endsWith` */
export const compileEndsWith = (param: string): CrsOperator => stringOp(param, (v, p) => v.endsWith(p), 'param');

/** `@contains` and `@strmatch`: the parameter occurs in the value. */
export const compileContains = (param: string): CrsOperator => stringOp(param, (v, p) => v.includes(p), 'param');

/** `@within`: the value occurs in the parameter (an empty value does). */
export const compileWithin = (param: string): CrsOperator => stringOp(param, (v, p) => p.includes(v), 'value');

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** `@containsWord`: the parameter occurs with no letter, digit or `_` right before or after it. */
export function compileContainsWord(param: string): CrsOperator {
  const p = asBytes(param);
  return (value, run) => {
    if (p === '') return true;
    for (let at = value.indexOf(p); at >= 0; at = value.indexOf(p, at + 1)) {
      const before = at === 0 || !isWordChar(value.charCodeAt(at - 1));
      const end = at + p.length;
      const after = end >= value.length || !isWordChar(value.charCodeAt(end));
      if (before && after) {
        capture(run, p);
        return true;
      }
    }
    return false;
  };
}
