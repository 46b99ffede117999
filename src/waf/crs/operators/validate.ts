/** The `@validate...` operators: they match (return true) when the value is NOT valid. */
import { isUtf8 } from 'node:buffer';
import { CrsUnsupported, type CrsOperator } from '../contract.js';

/** `@validateByteRange 1-255` / `10,13,32-126`: matches a value with a byte outside the ranges. */
export function compileValidateByteRange(param: string): CrsOperator {
  if (param.trim() === '') return () => true;
  const ok = new Uint8Array(256);
  for (const part of param.split(',')) {
    const m = /^\s*(\d{1,3})\s*(?:-\s*(\d{1,3})\s*)?$/.exec(part);
    const lo = m === null ? -1 : Number(m[1]);
    const hi = m === null ? -1 : m[2] === undefined ? lo : Number(m[2]);
    if (m === null || lo > 255 || hi > 255 || hi < lo) throw new CrsUnsupported(`@validateByteRange: bad range '${part}'`);
    ok.fill(1, lo, hi + 1);
  }
  return (value) => {
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c > 255 || ok[c] === 0) return true;
    }
    return false;
  };
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 102);
}

/** `@validateUrlEncoding`: matches a `%` not followed by two hex digits. */
export const validateUrlEncoding: CrsOperator = (value) => {
  for (let i = value.indexOf('%'); i >= 0; i = value.indexOf('%', i + 3)) {
    if (i + 2 >= value.length) return true;
    if (!isHexDigit(value.charCodeAt(i + 1)) || !isHexDigit(value.charCodeAt(i + 2))) return true;
  }
  return false;
};

/** `@validateUtf8Encoding`: matches bytes that are not well-formed UTF-8 (overlong forms and surrogates included). */
export const validateUtf8Encoding: CrsOperator = (value) => {
  if (!/[^\x00-\x7f]/.test(value)) return false;
  return !isUtf8(Buffer.from(value, 'latin1'));
};
