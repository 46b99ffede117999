/**
 * The transformation registry. A rule names a chain of these; the engine applies the chain once per
 * target value and caches the result for every rule that uses the same chain.
 */
import { decodeAll, htmlEntityDecode, jsDecode, unicodeFold, urlDecode } from './decode.js';
import { cmdLine, compressWhitespace, lowercase, normaliseSlashes, removeComments, removeCommentsChar, removeNulls, removeWhitespace } from './text.js';
import { base64Decode, base64DecodeAligned, hexDecode } from './encoding.js';
import { normalisePathT } from './path.js';

export type Transformation = (s: string) => string;

export const TRANSFORMATIONS: Readonly<Record<string, Transformation>> = {
  urlDecode: (s) => urlDecode(s),
  urlDecodePlus: (s) => urlDecode(s, true),
  htmlEntityDecode,
  jsDecode,
  unicodeFold,
  decodeAll,
  lowercase,
  removeNulls,
  removeComments,
  removeCommentsChar,
  compressWhitespace,
  removeWhitespace,
  cmdLine,
  normaliseSlashes,
  normalisePath: normalisePathT,
  base64Decode,
  base64DecodeAligned,
  hexDecode,
};

export type TransformationName = keyof typeof TRANSFORMATIONS;

export function isTransformation(name: string): boolean {
  return Object.hasOwn(TRANSFORMATIONS, name);
}

/** Compiles a chain into one function; throws on an unknown name. */
export function compileChain(names: readonly string[]): Transformation {
  const fns = names.map((n) => {
    const f = TRANSFORMATIONS[n];
    if (f === undefined) throw new Error(`unknown transformation '${n}'`);
    return f;
  });
  if (fns.length === 0) return (s) => s;
  return (s) => {
    let v = s;
    for (const f of fns) v = f(v);
    return v;
  };
}
