/**
 * Compares the gateway's reading of a request (what its stages checked) with a framework's. They
 * agree when the framework matched the same route with the same parameters and method, received
 * the same path, and read the same query and body. "The same" for structures a framework builds
 * from names (qs nests `a[b]=1` and, with allowDots, `a.b=1`): every value the gateway read under a
 * name reaches the framework under the same top-level parameter (the name's root), and nothing
 * else does. A framework that parsed no body has read nothing the gateway did not check.
 */
import { isDeepStrictEqual } from 'node:util';
import { pairsToRecord } from '../../src/body/form.js';
import type { FrameworkReading, Structure } from './frameworks.js';
import type { BodyReading, Pair } from '../../src/core/reading.js';

/** What the gateway's stages read (recorded by the test stage in differential.test.ts). */
export interface GatewayReading {
  readonly method: string;
  /** the path forwarded (the canonical path: no rewrite or strip_prefix on these routes) */
  readonly path: string;
  /** the route name (the gateway's route id without the framework prefix) */
  readonly route: string;
  readonly params: Readonly<Record<string, string>>;
  readonly queryPairs: readonly Pair[];
  readonly body: BodyReading | null;
}

type QsShape = { readonly kind: 'qs'; readonly allowDots: boolean; readonly depth: number };

/** The top-level key under which qs (with these options) files a parameter name, as qs.parse computes it. */
export function qsRoot(name: string, o: QsShape): string {
  const key = o.allowDots ? name.replace(/\.([^.[]+)/g, '[$1]') : name;
  if (o.depth <= 0) return key;
  const seg = /(\[[^[\]]*])/.exec(key);
  const parent = seg ? key.slice(0, seg.index) : key;
  if (parent !== '') return parent;
  return seg ? (seg[1] as string).slice(1, -1) : key;
}

/** Every string leaf of a value, filed under its top-level key. */
function leavesByRoot(v: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const collect = (x: unknown, acc: string[]): void => {
    if (typeof x === 'string') acc.push(x);
    else if (Array.isArray(x)) for (const e of x) collect(e, acc);
    else if (x !== null && typeof x === 'object') for (const e of Object.values(x)) collect(e, acc);
  };
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const acc: string[] = [];
      collect(x, acc);
      out.set(k, acc);
    }
  }
  return out;
}

function pairsByRoot(pairs: readonly Pair[], o: QsShape): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k, v] of pairs) {
    const r = qsRoot(k, o);
    const acc = out.get(r) ?? [];
    acc.push(v);
    out.set(r, acc);
  }
  return out;
}

function sameLeaves(a: Map<string, string[]>, b: Map<string, string[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !isDeepStrictEqual([...v].sort(), [...w].sort())) return false;
  }
  return true;
}

/** Whether a framework read the same pairs (flat: the same record; qs: the same values under the same roots). */
function samePairs(pairs: readonly Pair[], read: unknown, shape: Structure['query']): boolean {
  if (shape.kind === 'flat') return isDeepStrictEqual({ ...pairsToRecord(pairs) }, read ?? {});
  return sameLeaves(pairsByRoot(pairs, shape), leavesByRoot(read ?? {}));
}

/** A framework body that stands for "nothing parsed". */
function nothing(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
}

/** A value as it travels in the framework's JSON report (Infinity becomes null, and so on). */
function reported(v: unknown): unknown {
  return v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as unknown);
}

/** The differences between the two readings ([] when they agree). */
export function differences(gw: GatewayReading, fw: FrameworkReading, structure: Structure): string[] {
  const out: string[] = [];
  if (fw.method !== gw.method) out.push(`method: gateway ${gw.method}, ${fw.framework} ${fw.method}`);
  if (fw.path !== gw.path) out.push(`path: gateway ${gw.path}, ${fw.framework} ${fw.path}`);
  if (fw.route !== gw.route) out.push(`route: gateway ${gw.route}, ${fw.framework} ${fw.route}`);
  else if (!isDeepStrictEqual({ ...gw.params }, fw.params))
    out.push(`params: gateway ${JSON.stringify(gw.params)}, ${fw.framework} ${JSON.stringify(fw.params)}`);
  if (!samePairs(gw.queryPairs, fw.query, structure.query))
    out.push(`query: gateway ${JSON.stringify(gw.queryPairs)}, ${fw.framework} ${JSON.stringify(fw.query)}`);
  const b = gw.body;
  const fb = fw.body;
  if (nothing(fb)) {
    // the framework read no body (or an empty one): nothing reached it unchecked
  } else if (b === null || b.kind === 'other' || b.kind === 'ndjson' || b.kind === 'xml' || b.kind === 'multipart') {
    out.push(`body: gateway read ${b === null ? 'no body' : b.kind}, ${fw.framework} parsed ${JSON.stringify(fb).slice(0, 200)}`);
  } else if (b.kind === 'json') {
    if (!isDeepStrictEqual(reported(b.value), fb))
      out.push(`body: gateway ${JSON.stringify(b.value).slice(0, 200)}, ${fw.framework} ${JSON.stringify(fb).slice(0, 200)}`);
  } else if (b.kind === 'form') {
    if (!samePairs(b.pairs, fb, structure.form))
      out.push(`form: gateway ${JSON.stringify(b.pairs).slice(0, 200)}, ${fw.framework} ${JSON.stringify(fb).slice(0, 200)}`);
  } else if (b.kind === 'text') {
    if (b.text !== fb) out.push(`text: gateway ${JSON.stringify(b.text).slice(0, 100)}, ${fw.framework} ${JSON.stringify(fb).slice(0, 100)}`);
  }
  return out;
}
