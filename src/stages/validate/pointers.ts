/**
 * Schema awareness for the WAF: the JSON pointers (`/body/age`, `/query/limit`, `/path/id`)
 * whose values, once validation passed, are known to be of a constrained type (integer, number,
 * boolean, enum/const, uuid/date/email-like formats, an anchored pattern without wildcards), so
 * that the WAF can skip them. Computed from the schema at compile time; request time only expands
 * array indexes, and only when the schema has constrained values inside arrays.
 */
import type { SchemaObject } from '../../openapi/types.js';

export interface PointerPlan {
  /** pointers without array segments (shared, never mutated) */
  readonly fixed: ReadonlySet<string>;
  /** pointer segments with '*' for array indexes */
  readonly wild: readonly (readonly string[])[];
}

export const EMPTY_PLAN: PointerPlan = { fixed: new Set(), wild: [] };

const SAFE_FORMATS = new Set(['uuid', 'date', 'date-time', 'time', 'email', 'ipv4', 'ipv6', 'int32', 'int64', 'float', 'double', 'byte', 'duration']);

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A pattern is constraining when anchored at both ends and free of `.`, `\S`, `\W`, `\D` and negated classes. */
function safePattern(p: string): boolean {
  if (!p.startsWith('^') || !p.endsWith('$')) return false;
  const body = p.replace(/\\\\/g, '');
  return !/(^|[^\\])\./.test(body) && !/\\[SWDsP]/.test(body) && !body.includes('[^');
}

export function isConstrained(s: unknown): boolean {
  if (!isObj(s)) return false;
  if (Array.isArray(s['enum']) || 'const' in s) return true;
  let t = s['type'];
  if (Array.isArray(t)) {
    const nonNull = t.filter((x) => x !== 'null');
    if (nonNull.length !== 1) return false;
    t = nonNull[0];
  }
  if (t === 'integer' || t === 'number' || t === 'boolean') return true;
  if (t === 'string') {
    if (typeof s['format'] === 'string' && SAFE_FORMATS.has(s['format'])) return true;
    if (typeof s['pattern'] === 'string' && safePattern(s['pattern'])) return true;
  }
  return false;
}

function esc(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Pointers of a parameter (its whole value counts when it, or its array items, are constrained). */
export function staticPointers(raw: SchemaObject | undefined, ptr: string): string[] {
  if (!isObj(raw)) return [];
  if (isConstrained(raw)) return [ptr];
  if (raw['type'] === 'array' && isConstrained(raw['items'])) return [ptr];
  return [];
}

/** The plan of a body schema (walks the dereferenced schema; cycles and depth are bounded). */
export function pointerPlan(raw: SchemaObject, prefix: string): PointerPlan {
  const fixed = new Set<string>();
  const wild: string[][] = [];
  const stack = new Set<object>();
  const visit = (s: unknown, segs: string[]): void => {
    if (!isObj(s) || stack.has(s) || segs.length > 16) return;
    stack.add(s);
    if (isConstrained(s)) {
      if (segs.includes('*')) wild.push(segs);
      else fixed.add(prefix + segs.map((x) => `/${esc(x)}`).join(''));
    }
    if (isObj(s['properties'])) for (const [k, v] of Object.entries(s['properties'])) visit(v, [...segs, k]);
    if (Array.isArray(s['allOf'])) for (const b of s['allOf']) visit(b, segs);
    if (isObj(s['items'])) visit(s['items'], [...segs, '*']);
    stack.delete(s);
  };
  visit(raw, []);
  if (fixed.size === 0 && wild.length === 0) return EMPTY_PLAN;
  return { fixed, wild };
}

/** The pointers for one validated value; the shared fixed set when no array expansion is needed. */
export function expandPlan(plan: PointerPlan, value: unknown, prefix: string): ReadonlySet<string> {
  if (plan.wild.length === 0) return plan.fixed;
  const out = new Set(plan.fixed);
  for (const segs of plan.wild) expand(value, segs, 0, prefix, out);
  return out;
}

function expand(v: unknown, segs: readonly string[], i: number, at: string, out: Set<string>): void {
  if (i === segs.length) {
    if (v !== undefined) out.add(at);
    return;
  }
  const seg = segs[i] as string;
  if (seg === '*') {
    if (!Array.isArray(v)) return;
    const n = Math.min(v.length, 10000);
    for (let k = 0; k < n; k++) expand(v[k], segs, i + 1, `${at}/${k}`, out);
    return;
  }
  if (!isObj(v)) return;
  expand(v[seg], segs, i + 1, `${at}/${esc(seg)}`, out);
}
