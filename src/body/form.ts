/**
 * `application/x-www-form-urlencoded` bodies and query strings: name/value pairs, decoded once,
 * bounded in count and size, forbidden names (prototype pollution) refused. Results are
 * null-prototype records whose repeated names become arrays.
 */
import { isUtf8 } from 'node:buffer';
import { isForbiddenKey } from './json.js';
import type { FormRecord, Pair } from '../core/reading.js';

export interface FormLimits {
  /** most name/value pairs */
  readonly maxParams: number;
  /** longest decoded name or value, in characters */
  readonly maxValueLength: number;
}

export const DEFAULT_FORM_LIMITS: FormLimits = Object.freeze({ maxParams: 256, maxValueLength: 65536 });

export type PairsResult =
  | { readonly ok: true; readonly pairs: Pair[] }
  | { readonly ok: false; readonly code: 'too_many_params' | 'malformed' | 'too_long' | 'forbidden_key'; readonly reason: string };

export type FormResult =
  | { readonly ok: true; readonly value: FormRecord }
  | { readonly ok: false; readonly code: 'too_many_params' | 'malformed' | 'too_long' | 'forbidden_key'; readonly reason: string };

function decode(s: string): string | null {
  if (s.indexOf('+') !== -1) s = s.replace(/\+/g, ' ');
  if (s.indexOf('%') === -1) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/**
 * Names that qs (Express's extended parser, Koa's form parser) drops because they are properties
 * of Object.prototype, and that others keep: read differently, so refused with the forbidden keys.
 */
const PROTOTYPE_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * Why a decoded parameter name cannot be read one way by every upstream parser, or null. Brackets
 * are allowed only as `root[a][b]...` (root not empty, no bracket inside a bracket, nothing after
 * the last `]`): qs, Rails and PHP nest such names under `root`; other shapes (`a[b`, `[a]`,
 * `a[b]c`, `a[b[c]]`) are read differently by each, or re-rooted (`[a]` is `a` to qs).
 */
export function nameProblem(name: string): { readonly code: 'malformed' | 'forbidden_key'; readonly reason: string } | null {
  if (name.length === 0) return { code: 'malformed', reason: 'empty parameter name' };
  // qs with allowDots (Koa's form parser) reads `a.b` as a[b]: every dotted part is a key too
  if (name.indexOf('.') >= 0) {
    for (const part of name.split(/[.[\]]/))
      if (isForbiddenKey(part) || PROTOTYPE_NAMES.has(part)) return { code: 'forbidden_key', reason: 'forbidden parameter name' };
  }
  const open = name.indexOf('[');
  if (open < 0) {
    if (isForbiddenKey(name) || PROTOTYPE_NAMES.has(name)) return { code: 'forbidden_key', reason: 'forbidden parameter name' };
    return null;
  }
  if (open === 0) return { code: 'malformed', reason: 'parameter name starts with a bracket' };
  const root = name.slice(0, open);
  if (root.indexOf(']') >= 0) return { code: 'malformed', reason: 'ambiguous brackets in a parameter name' };
  if (isForbiddenKey(root) || PROTOTYPE_NAMES.has(root)) return { code: 'forbidden_key', reason: 'forbidden parameter name' };
  let i = open;
  while (i < name.length) {
    if (name.charCodeAt(i) !== 0x5b) return { code: 'malformed', reason: 'ambiguous brackets in a parameter name' };
    const close = name.indexOf(']', i + 1);
    if (close < 0) return { code: 'malformed', reason: 'unbalanced brackets in a parameter name' };
    const seg = name.slice(i + 1, close);
    if (seg.indexOf('[') >= 0) return { code: 'malformed', reason: 'nested brackets in a parameter name' };
    if (isForbiddenKey(seg) || PROTOTYPE_NAMES.has(seg)) return { code: 'forbidden_key', reason: 'forbidden parameter name' };
    i = close + 1;
  }
  return null;
}

/** The parameter a bracketed name belongs to: `limit[]` and `limit[0]` -> `limit` (names passed nameProblem). */
export function rootName(name: string): string {
  const open = name.indexOf('[');
  return open < 0 ? name : name.slice(0, open);
}

/** Counts `&`-separated non-empty pairs without decoding (for the query parameter limit). */
export function countPairs(s: string): number {
  if (s.length === 0) return 0;
  let count = 0;
  let start = 0;
  for (;;) {
    const amp = s.indexOf('&', start);
    const end = amp === -1 ? s.length : amp;
    if (end > start) count++;
    if (amp === -1) return count;
    start = amp + 1;
  }
}

/** Whether `s` has `]=` or `%5D=` (any case) with its `=` in [from, end). */
function bracketEquals(s: string, from: number, end: number): boolean {
  for (let i = s.indexOf('=', from); i !== -1 && i < end; i = s.indexOf('=', i + 1)) {
    const c = s.charCodeAt(i - 1);
    if (c === 0x5d) return true; // ]
    if ((c === 0x44 || c === 0x64) && s.charCodeAt(i - 2) === 0x35 && s.charCodeAt(i - 3) === 0x25) return true; // %5D, %5d
  }
  return false;
}

/** Splits and decodes `a=1&b=2`; empty pieces are skipped, a name without `=` has value ''. */
export function parsePairs(s: string, limits: FormLimits = DEFAULT_FORM_LIMITS): PairsResult {
  const pairs: Pair[] = [];
  if (s.length === 0) return { ok: true, pairs };
  let start = 0;
  for (;;) {
    const amp = s.indexOf('&', start);
    const end = amp === -1 ? s.length : amp;
    if (end > start) {
      if (pairs.length >= limits.maxParams) return { ok: false, code: 'too_many_params', reason: `more than ${limits.maxParams} parameters` };
      const eq = s.indexOf('=', start);
      const hasEq = eq !== -1 && eq < end;
      // qs splits a pair at `]=` (after reading `%5D` as `]`) when there is one, not at the first
      // `=`: `a=x]=y` is a=`x]=y` here, `a=x]`=`y` there
      if (hasEq && bracketEquals(s, eq + 1, end)) return { ok: false, code: 'malformed', reason: "']=' in a parameter value (qs splits the pair there)" };
      const name = decode(s.slice(start, hasEq ? eq : end));
      const value = hasEq ? decode(s.slice(eq + 1, end)) : '';
      if (name === null || value === null) return { ok: false, code: 'malformed', reason: 'malformed percent-encoding' };
      if (name.length > limits.maxValueLength || value.length > limits.maxValueLength) {
        return { ok: false, code: 'too_long', reason: `name or value longer than ${limits.maxValueLength}` };
      }
      const problem = nameProblem(name);
      if (problem !== null) return { ok: false, ...problem };
      pairs.push([name, value]);
    }
    if (amp === -1) break;
    start = amp + 1;
  }
  const conflict = structureProblem(pairs);
  if (conflict !== null) return { ok: false, code: 'malformed', reason: conflict };
  return { ok: true, pairs };
}

/**
 * Names that qs (Express's extended parsers, Koa's form parser) merges by rules of its own, where
 * flat parsers keep each pair apart; null when there is none:
 * - a name that is both a value and the parent of others (`a=1&a[b]=2`, `a[b]=1&a[b][c]=2`,
 *   `a=&a[]=1`): qs drops one, or makes a key of a value;
 * - two spellings of one position (`a.b` and `a[b]`, `a[0]` and `a[00]`): their values are merged,
 *   and an empty one dropped;
 * - a list appended to (`a[]`) and indexed (`a[0]`) at once: the same.
 * Bracketed and dotted names are split into their path (`a[b].c` is a, b, c); the check runs
 * only when a name has a bracket or a dot.
 */
function structureProblem(pairs: readonly Pair[]): string | null {
  let nested = false;
  for (const [k] of pairs) if (k.indexOf('[') >= 0 || k.indexOf('.') >= 0) nested = true;
  if (!nested) return null;
  const leaves = new Map<string, string>();
  const parents = new Set<string>();
  const listKinds = new Map<string, number>();
  for (const [k] of pairs) {
    const path = k
      .replace(/\]/g, '')
      .split(/[[.]/)
      .map((seg) => (seg === '' ? '[]' : /^[0-9]+$/.test(seg) ? `#${Number(seg)}` : seg));
    const key = path.join('\u0000');
    const before = leaves.get(key);
    if (before !== undefined && before !== k) return 'two spellings of one parameter name';
    leaves.set(key, k);
    for (let i = 1; i < path.length; i++) {
      const parent = path.slice(0, i).join('\u0000');
      parents.add(parent);
      const seg = path[i] as string;
      const kind = seg === '[]' ? 1 : seg.charCodeAt(0) === 0x23 ? 2 : 0;
      const kinds = (listKinds.get(parent) ?? 0) | kind;
      if (kinds === 3) return 'a list both appended to and indexed';
      listKinds.set(parent, kinds);
    }
  }
  for (const l of leaves.keys()) if (parents.has(l)) return 'a parameter name is both a value and the parent of other names';
  return null;
}

/** Groups pairs by name; repeated names become arrays in order. */
export function pairsToRecord(pairs: readonly Pair[]): FormRecord {
  const out = Object.create(null) as FormRecord;
  for (const [k, v] of pairs) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

/** Parses an urlencoded body (must be UTF-8). */
export function parseUrlEncoded(buf: Buffer, limits: FormLimits = DEFAULT_FORM_LIMITS): FormResult {
  if (!isUtf8(buf)) return { ok: false, code: 'malformed', reason: 'body is not valid UTF-8' };
  const r = parsePairs(buf.toString('utf8'), limits);
  if (!r.ok) return r;
  return { ok: true, value: pairsToRecord(r.pairs) };
}
