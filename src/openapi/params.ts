/**
 * Parameter serialisation (OpenAPI 3 `style` / `explode`) → plain values for schema validation.
 * Values stay strings here; Ajv's type coercion turns them into numbers and booleans, so that a
 * parameter is decoded exactly once. Pure.
 *
 *   query:  form (default, explode true), spaceDelimited, pipeDelimited, deepObject
 *   path:   simple (default), label, matrix
 *   header: simple
 *   cookie: form
 * Repeated values of a scalar query parameter stay an array (and fail a scalar schema): HTTP
 * parameter pollution is refused rather than resolved differently from the upstream.
 */
import type { ParameterObject, SchemaObject } from './types.js';
import type { Pair } from '../core/reading.js';

export type ParamShape = 'scalar' | 'array' | 'object';

export interface ParamSpec {
  readonly name: string;
  /** lowercase for headers */
  readonly key: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required: boolean;
  readonly style: string;
  readonly explode: boolean;
  readonly shape: ParamShape;
  /** property names of an object parameter (form explode true collects these query names) */
  readonly properties: readonly string[];
  /** a parameter described with `content` (JSON in a string) */
  readonly json: boolean;
}

const DEFAULT_STYLE = { path: 'simple', query: 'form', header: 'simple', cookie: 'form' } as const;

/** Headers OpenAPI says parameter definitions must ignore. */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

function schemaShape(s: SchemaObject | undefined): { shape: ParamShape; properties: string[] } {
  if (s === undefined || typeof s === 'boolean') return { shape: 'scalar', properties: [] };
  let t = s['type'];
  if (Array.isArray(t)) t = t.find((x) => x !== 'null');
  if (t === 'array') return { shape: 'array', properties: [] };
  if (t === 'object' || (t === undefined && s['properties'] !== undefined)) {
    const props = s['properties'];
    return { shape: 'object', properties: props !== null && typeof props === 'object' ? Object.keys(props) : [] };
  }
  return { shape: 'scalar', properties: [] };
}

/** The schema a parameter validates against (from `schema`, or `content`'s single media type). */
export function paramSchema(p: ParameterObject): SchemaObject | undefined {
  if (p.schema !== undefined) return p.schema;
  if (p.content) {
    const first = Object.values(p.content)[0];
    return first?.schema;
  }
  return undefined;
}

/** Null when the parameter is ignored (Accept, Content-Type and Authorization headers). */
export function paramSpec(p: ParameterObject): ParamSpec | null {
  const key = p.in === 'header' ? p.name.toLowerCase() : p.name;
  if (p.in === 'header' && IGNORED_HEADERS.has(key)) return null;
  const style = p.style ?? DEFAULT_STYLE[p.in];
  const { shape, properties } = schemaShape(paramSchema(p));
  return {
    name: p.name,
    key,
    in: p.in,
    required: p.required === true,
    style,
    explode: p.explode ?? style === 'form',
    shape,
    properties,
    json: p.schema === undefined && p.content !== undefined && Object.keys(p.content).some((m) => m === 'application/json' || m.endsWith('+json')),
  };
}

function splitObject(parts: string[]): Record<string, string> | undefined {
  if (parts.length % 2 !== 0) return undefined;
  const o = Object.create(null) as Record<string, string>;
  for (let i = 0; i < parts.length; i += 2) o[parts[i] as string] = parts[i + 1] as string;
  return o;
}

function splitKeyValues(parts: string[]): Record<string, string> | undefined {
  const o = Object.create(null) as Record<string, string>;
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    o[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return o;
}

/** Deserialises one simple-style string (path, header) by the parameter's shape. */
export function deserialiseSimple(raw: string, spec: ParamSpec): unknown {
  let v = raw;
  if (spec.in === 'path') {
    if (spec.style === 'label') {
      if (!v.startsWith('.')) return raw;
      v = v.slice(1);
      if (spec.shape === 'array' && spec.explode) return v.split('.');
    } else if (spec.style === 'matrix') {
      const prefix = `;${spec.name}=`;
      if (spec.shape === 'array' && spec.explode)
        return v
          .split(';')
          .slice(1)
          .map((x) => (x.startsWith(`${spec.name}=`) ? x.slice(spec.name.length + 1) : x));
      if (!v.startsWith(prefix)) return raw;
      v = v.slice(prefix.length);
    }
  }
  if (spec.json) return parseJsonParam(v);
  if (spec.shape === 'array') return v === '' ? [] : v.split(',');
  if (spec.shape === 'object') {
    const parts = v.split(',');
    return (spec.explode ? splitKeyValues(parts) : splitObject(parts)) ?? raw;
  }
  return v;
}

function parseJsonParam(v: string): unknown {
  if (v.length > 65536) return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/**
 * Builds the query values object for the declared parameters from decoded pairs.
 * Undeclared names are ignored here (OpenAPI allows them).
 */
export function queryValues(pairs: readonly Pair[], specs: readonly ParamSpec[]): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const spec of specs) {
    if (spec.style === 'deepObject') {
      const prefix = `${spec.name}[`;
      let obj: Record<string, unknown> | undefined;
      for (const [k, v] of pairs) {
        if (k.length > prefix.length + 1 && k.startsWith(prefix) && k.endsWith(']')) {
          const prop = k.slice(prefix.length, -1);
          if (prop.includes('[') || prop.includes(']')) continue;
          obj ??= Object.create(null) as Record<string, unknown>;
          const prev = obj[prop];
          obj[prop] = prev === undefined ? v : Array.isArray(prev) ? [...(prev as unknown[]), v] : [prev, v];
        }
      }
      if (obj !== undefined) out[spec.name] = obj;
      continue;
    }
    if (spec.shape === 'object' && spec.explode && !spec.json) {
      let obj: Record<string, unknown> | undefined;
      for (const [k, v] of pairs) {
        if (spec.properties.includes(k)) {
          obj ??= Object.create(null) as Record<string, unknown>;
          obj[k] = v;
        }
      }
      if (obj !== undefined) out[spec.name] = obj;
      continue;
    }
    const values: string[] = [];
    for (const [k, v] of pairs) if (k === spec.name) values.push(v);
    if (values.length === 0) continue;
    if (spec.json) {
      out[spec.name] = values.length === 1 ? parseJsonParam(values[0] as string) : values;
      continue;
    }
    if (spec.shape === 'array') {
      if (spec.explode) out[spec.name] = values;
      else {
        const sep = spec.style === 'spaceDelimited' ? ' ' : spec.style === 'pipeDelimited' ? '|' : ',';
        out[spec.name] = values.length === 1 ? ((values[0] as string) === '' ? [] : (values[0] as string).split(sep)) : values;
      }
    } else if (spec.shape === 'object') {
      out[spec.name] = values.length === 1 ? (splitObject((values[0] as string).split(',')) ?? values[0]) : values;
    } else {
      out[spec.name] = values.length === 1 ? values[0] : values;
    }
  }
  return out;
}

/** Parses a Cookie header into a null-prototype record (first value of a repeated name wins). */
export function parseCookies(header: string | undefined, max = 64): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (!header) return out;
  let n = 0;
  for (const piece of header.split(';')) {
    const eq = piece.indexOf('=');
    if (eq <= 0) continue;
    const name = piece.slice(0, eq).trim();
    if (name === '' || name in out) continue;
    if (++n > max) break;
    let value = piece.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value.includes('%')) {
      try {
        value = decodeURIComponent(value);
      } catch {
        /* keep the raw value: the schema decides */
      }
    }
    out[name] = value;
  }
  return out;
}
