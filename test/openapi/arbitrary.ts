/**
 * A small OpenAPI-schema → fast-check arbitrary generator, for the schema subset the fixtures
 * use (objects, arrays, strings with length/pattern/format, numbers with bounds, enums,
 * nullable, allOf, recursion), plus a mutator that breaks exactly one constraint of a valid
 * instance. Request direction: readOnly properties are never generated.
 */
import fc from 'fast-check';

type S = Record<string, any>;

function types(s: S): string[] {
  const t = s['type'];
  return Array.isArray(t) ? t : typeof t === 'string' ? [t] : s['properties'] || s['allOf'] ? ['object'] : [];
}

function nullable(s: S): boolean {
  return s['nullable'] === true || types(s).includes('null');
}

/** Merges an allOf of object schemas into one view (properties, required, closed). */
export function view(s: S): { properties: Record<string, S>; required: string[]; closed: boolean } {
  const properties: Record<string, S> = { ...(s['properties'] ?? {}) };
  const required: string[] = [...(s['required'] ?? [])];
  let closed = s['additionalProperties'] === false || s['unevaluatedProperties'] === false;
  for (const b of (s['allOf'] as S[] | undefined) ?? []) {
    const v = view(b);
    Object.assign(properties, v.properties);
    required.push(...v.required);
    closed ||= v.closed && s['allOf'].length === 1;
  }
  return { properties, required: [...new Set(required)], closed };
}

function numberArb(s: S, integer: boolean, v31: boolean): fc.Arbitrary<number> {
  let min = typeof s['minimum'] === 'number' ? s['minimum'] : -1e6;
  let max = typeof s['maximum'] === 'number' ? s['maximum'] : 1e6;
  let minEx = false;
  let maxEx = false;
  if (v31) {
    if (typeof s['exclusiveMinimum'] === 'number') {
      min = s['exclusiveMinimum'];
      minEx = true;
    }
    if (typeof s['exclusiveMaximum'] === 'number') {
      max = s['exclusiveMaximum'];
      maxEx = true;
    }
  } else {
    minEx = s['exclusiveMinimum'] === true;
    maxEx = s['exclusiveMaximum'] === true;
  }
  if (integer) return fc.integer({ min: minEx ? Math.floor(min) + 1 : Math.ceil(min), max: maxEx ? Math.ceil(max) - 1 : Math.floor(max) });
  return fc.double({ min, max, minExcluded: minEx, maxExcluded: maxEx, noNaN: true, noDefaultInfinity: true });
}

function stringArb(s: S): fc.Arbitrary<string> {
  const minLength = s['minLength'] ?? 0;
  const maxLength = Math.min(s['maxLength'] ?? 30, 60);
  const fmt = s['format'];
  if (fmt === 'date')
    return fc.date({ min: new Date('1900-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  if (fmt === 'uuid') return fc.uuid();
  if (fmt === 'binary') return fc.string({ maxLength: Math.min(maxLength, 20) });
  if (typeof s['pattern'] === 'string') {
    return fc.stringMatching(new RegExp(s['pattern'])).filter((x) => x.length >= minLength && x.length <= maxLength);
  }
  return fc.string({ minLength, maxLength });
}

export function arb(s: S, v31: boolean, depth = 0): fc.Arbitrary<unknown> {
  let base: fc.Arbitrary<unknown>;
  const t = types(s).filter((x) => x !== 'null');
  if (Array.isArray(s['enum'])) base = fc.constantFrom(...(s['enum'] as unknown[]).filter((x) => x !== null));
  else if (s['allOf'] || t[0] === 'object') {
    const v = view(s);
    const keys = Object.keys(v.properties).filter((k) => v.properties[k]?.['readOnly'] !== true);
    const model: Record<string, fc.Arbitrary<unknown>> = {};
    for (const k of keys) model[k] = arb(v.properties[k] as S, v31, depth + 1);
    base = fc.record(model, { requiredKeys: keys.filter((k) => v.required.includes(k)) });
  } else if (t[0] === 'array') {
    const maxItems = Math.min(s['maxItems'] ?? 4, 4);
    base = depth > 3 ? fc.constant([]) : fc.array(arb(s['items'] as S, v31, depth + 1), { minLength: s['minItems'] ?? 0, maxLength: maxItems });
  } else if (t[0] === 'string') base = stringArb(s);
  else if (t[0] === 'integer') base = numberArb(s, true, v31);
  else if (t[0] === 'number') base = numberArb(s, false, v31);
  else if (t[0] === 'boolean') base = fc.boolean();
  else base = fc.constant('any');
  return nullable(s) ? fc.oneof(base, fc.constant(null)) : base;
}

/** One way to break the instance; applied to a deep copy. */
export interface Mutation {
  readonly what: string;
  apply(v: unknown): unknown;
}

function wrongType(s: S): unknown {
  const t = types(s).filter((x) => x !== 'null')[0];
  if (Array.isArray(s['enum'])) return 'zz-not-in-enum';
  switch (t) {
    case 'string':
      return 12345;
    case 'integer':
      return 1.5;
    case 'number':
      return 'twelve';
    case 'boolean':
      return 'true';
    case 'array':
      return { not: 'an array' };
    case 'object':
      return ['not', 'an', 'object'];
    default:
      return undefined;
  }
}

/** Mutation sites of a valid instance under a schema (each breaks one constraint). */
export function mutations(s: S, v: unknown, v31: boolean, at = ''): Mutation[] {
  const out: Mutation[] = [];
  const setAt = (root: unknown, path: string[], value: unknown): unknown => {
    if (path.length === 0) return value;
    const copy = structuredClone(root) as Record<string, unknown>;
    let o: any = copy;
    for (const p of path.slice(0, -1)) o = o[p];
    if (value === undefined) delete o[path.at(-1) as string];
    else o[path.at(-1) as string] = value;
    return copy;
  };
  const walk = (s: S, v: unknown, path: string[]): void => {
    if (v === null) return;
    const bad = wrongType(s);
    if (bad !== undefined) out.push({ what: `wrong type at ${path.join('/')}`, apply: (r) => setAt(r, path, bad) });
    const t = types(s).filter((x) => x !== 'null')[0];
    if (typeof v === 'number') {
      if (typeof s['maximum'] === 'number') out.push({ what: `above maximum at ${path.join('/')}`, apply: (r) => setAt(r, path, s['maximum'] + 1) });
      if (typeof s['minimum'] === 'number') out.push({ what: `below minimum at ${path.join('/')}`, apply: (r) => setAt(r, path, s['minimum'] - 1) });
      if (v31 && typeof s['exclusiveMinimum'] === 'number')
        out.push({ what: `not above exclusiveMinimum at ${path.join('/')}`, apply: (r) => setAt(r, path, s['exclusiveMinimum']) });
      if (!v31 && s['exclusiveMaximum'] === true) out.push({ what: `at exclusive maximum ${path.join('/')}`, apply: (r) => setAt(r, path, s['maximum']) });
    }
    if (typeof v === 'string') {
      if (typeof s['maxLength'] === 'number') out.push({ what: `too long at ${path.join('/')}`, apply: (r) => setAt(r, path, 'a'.repeat(s['maxLength'] + 1)) });
      if (typeof s['minLength'] === 'number' && s['minLength'] > 0) out.push({ what: `too short at ${path.join('/')}`, apply: (r) => setAt(r, path, '') });
      if (typeof s['pattern'] === 'string') out.push({ what: `pattern at ${path.join('/')}`, apply: (r) => setAt(r, path, 'NOT VALID!') });
      if (s['format'] === 'date') out.push({ what: `format at ${path.join('/')}`, apply: (r) => setAt(r, path, '2021-13-45') });
    }
    if (Array.isArray(v)) {
      if (typeof s['maxItems'] === 'number' && s['items']) {
        const filler = v[0];
        if (filler !== undefined)
          out.push({ what: `too many items at ${path.join('/')}`, apply: (r) => setAt(r, path, Array(s['maxItems'] + 1).fill(filler)) });
      }
      v.forEach((e, i) => {
        walk(s['items'] as S, e, [...path, String(i)]);
      });
    } else if (typeof v === 'object' && (t === 'object' || s['allOf'])) {
      const o = v as Record<string, unknown>;
      const vw = view(s);
      // a required readOnly property is not required in requests (it must be absent)
      for (const r of vw.required.filter((x) => vw.properties[x]?.['readOnly'] !== true))
        out.push({ what: `missing ${[...path, r].join('/')}`, apply: (root) => setAt(root, [...path, r], undefined) });
      if (vw.closed) out.push({ what: `extra property at ${path.join('/')}`, apply: (root) => setAt(root, [...path, 'zz_extra'], 1) });
      for (const [k, ps] of Object.entries(vw.properties)) {
        if (ps['readOnly'] === true) out.push({ what: `readOnly ${[...path, k].join('/')}`, apply: (root) => setAt(root, [...path, k], 1) });
        if (k in o) walk(ps, o[k], [...path, k]);
      }
    }
  };
  walk(s, v, at === '' ? [] : at.split('/'));
  return out;
}
