/**
 * OpenAPI Schema Objects → JSON Schema that Ajv compiles, once per document and direction.
 *
 * - 3.0 (Ajv draft-07 class): `nullable` becomes a `null` type (or an anyOf with null), boolean
 *   `exclusiveMinimum`/`exclusiveMaximum` become the numeric draft-06+ form.
 * - 3.1 (Ajv 2020-12 class): schemas are JSON Schema already; `$schema`/`$id` are dropped so
 *   that shared sub-schemas can be compiled many times.
 * - direction `request`: `readOnly` properties are forbidden (and not required);
 *   direction `response`: `writeOnly` properties are forbidden (and not required).
 * - OpenAPI-only keywords (discriminator, xml, example, externalDocs) are dropped.
 * - Circular references (shared JS objects after dereferencing) become `$defs` entries of one
 *   schema registered as `defsId`, referenced as `${defsId}#/$defs/sN`.
 */
import type { OpenApiVersion, SchemaObject } from './types.js';

export type Direction = 'request' | 'response';

const DROP = new Set(['discriminator', 'xml', 'example', 'externalDocs', 'nullable', '$schema', '$id', 'deprecated']);
/** keywords whose value is one schema */
const ONE = new Set([
  'not',
  'items',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'contains',
  'propertyNames',
  'if',
  'then',
  'else',
  'additionalItems',
  'contentSchema',
]);
/** keywords whose value is an array of schemas */
const MANY = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
/** keywords whose value is a map of schemas */
const MAP = new Set(['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions']);

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

export class SchemaConverter {
  /** definitions of recursive schemas, to register as `{ $id: defsId, $defs }` before compiling */
  readonly defs: Record<string, unknown> = {};
  private readonly memo = new Map<object, unknown>();
  private readonly onStack = new Set<object>();
  private readonly names = new Map<object, string>();

  constructor(
    readonly version: OpenApiVersion,
    readonly direction: Direction,
    readonly defsId: string,
  ) {}

  /** True when some recursive schema was found (the defs schema must be registered). */
  get hasDefs(): boolean {
    return this.names.size > 0;
  }

  convert(node: SchemaObject | undefined): unknown {
    if (node === undefined) return {};
    if (typeof node === 'boolean') return node;
    if (!isObj(node)) return {};
    const done = this.memo.get(node);
    if (done !== undefined) return done;
    if (this.onStack.has(node)) return { $ref: this.refFor(node) };
    this.onStack.add(node);
    let out: unknown;
    try {
      out = this.convertObject(node);
    } finally {
      this.onStack.delete(node);
    }
    const name = this.names.get(node);
    if (name !== undefined) {
      this.defs[name] = out;
      out = { $ref: `${this.defsId}#/$defs/${name}` };
    }
    this.memo.set(node, out);
    return out;
  }

  private refFor(node: object): string {
    let name = this.names.get(node);
    if (name === undefined) {
      name = `s${this.names.size}`;
      this.names.set(node, name);
    }
    return `${this.defsId}#/$defs/${name}`;
  }

  private convertObject(s: Json): unknown {
    const out: Json = {};
    for (const [k, v] of Object.entries(s)) {
      if (DROP.has(k) || k.startsWith('x-')) continue;
      if (ONE.has(k)) out[k] = Array.isArray(v) ? v.map((x) => this.convert(x as SchemaObject)) : this.convert(v as SchemaObject);
      else if (MANY.has(k) && Array.isArray(v)) out[k] = v.map((x) => this.convert(x as SchemaObject));
      else if (MAP.has(k) && isObj(v)) {
        const m: Json = {};
        for (const [pk, pv] of Object.entries(v)) m[pk] = this.convert(pv as SchemaObject);
        out[k] = m;
      } else out[k] = v;
    }
    // forbidden properties for this direction
    const forbid = this.direction === 'request' ? 'readOnly' : 'writeOnly';
    if (isObj(s['properties'])) {
      const props = out['properties'] as Json;
      const gone: string[] = [];
      for (const [pk, pv] of Object.entries(s['properties'])) {
        if (isObj(pv) && pv[forbid] === true) {
          props[pk] = false;
          gone.push(pk);
        }
      }
      if (gone.length > 0 && Array.isArray(out['required'])) out['required'] = (out['required'] as string[]).filter((r) => !gone.includes(r));
    }
    if (this.version === '3.0') {
      if (typeof s['exclusiveMinimum'] === 'boolean') {
        delete out['exclusiveMinimum'];
        if (s['exclusiveMinimum'] && typeof s['minimum'] === 'number') {
          out['exclusiveMinimum'] = s['minimum'];
          delete out['minimum'];
        }
      }
      if (typeof s['exclusiveMaximum'] === 'boolean') {
        delete out['exclusiveMaximum'];
        if (s['exclusiveMaximum'] && typeof s['maximum'] === 'number') {
          out['exclusiveMaximum'] = s['maximum'];
          delete out['maximum'];
        }
      }
      if (s['nullable'] === true) {
        const t = out['type'];
        if (typeof t === 'string') out['type'] = [t, 'null'];
        else if (Array.isArray(t) && !t.includes('null')) out['type'] = [...t, 'null'];
        else if (t === undefined) return { anyOf: [out, { type: 'null' }] };
        if (Array.isArray(out['enum']) && !(out['enum'] as unknown[]).includes(null)) out['enum'] = [...(out['enum'] as unknown[]), null];
      }
    }
    return out;
  }
}

/** Resolves a `$ref` produced by a converter, against its defs. */
export function derefConverted(s: unknown, defs: Readonly<Record<string, unknown>>): unknown {
  let guard = 0;
  while (isObj(s) && typeof s['$ref'] === 'string' && guard++ < 64) {
    const ref = s['$ref'];
    const at = ref.lastIndexOf('/$defs/');
    if (at === -1) return s;
    s = defs[ref.slice(at + 7)];
  }
  return s;
}
