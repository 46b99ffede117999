/**
 * Response validation: the operation's schema for the status code (exact, then `2XX`, then
 * `default`) and content type. `filter` first removes properties the schema does not declare
 * (nested too), then validates. Responses without a matching JSON schema pass unchanged.
 * Pure: takes the status, headers and body, returns what to do.
 */
import { Buffer } from 'node:buffer';
import type { ProblemItem } from '../../core/decision.js';
import { bodyKind, mediaTypeOf } from '../../body/media.js';
import { derefConverted } from '../../openapi/schema.js';
import type { CompiledOperation, CompiledResponseMedia } from './compile.js';
import { appendAjvErrors } from './problems.js';

export type ResponseMode = 'off' | 'monitor' | 'enforce' | 'filter';

export type ResponseVerdict =
  | { readonly kind: 'pass' }
  | { readonly kind: 'replace'; readonly body: Buffer }
  | { readonly kind: 'invalid'; readonly items: readonly ProblemItem[]; readonly reason: string };

const PASS: ResponseVerdict = { kind: 'pass' };

export function findResponseMedia(op: CompiledOperation, status: number, contentType: string | undefined): CompiledResponseMedia | null {
  const list = op.responses.get(String(status)) ?? op.responses.get(`${Math.floor(status / 100)}XX`) ?? op.responses.get('DEFAULT');
  if (list === undefined) return null;
  const mt = mediaTypeOf(contentType);
  if (mt === '') return null;
  let range: CompiledResponseMedia | null = null;
  let any: CompiledResponseMedia | null = null;
  for (const m of list) {
    if (m.mediaType === mt) return m;
    if (m.mediaType === '*/*') any = m;
    else if (m.mediaType.endsWith('/*') && mt.startsWith(m.mediaType.slice(0, -1))) range = m;
  }
  return range ?? any;
}

/** True when some response of the operation has a JSON schema (the stage then needs the body). */
export function hasResponseSchemas(op: CompiledOperation): boolean {
  for (const list of op.responses.values()) if (list.some((m) => m.kind === 'json' || m.mediaType === '*/*')) return true;
  return false;
}

function header(h: Record<string, string | string[]>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export function checkResponse(
  op: CompiledOperation,
  status: number,
  headers: Record<string, string | string[]>,
  body: Buffer,
  mode: ResponseMode,
  maxErrors: number,
): ResponseVerdict {
  if (mode === 'off' || status === 204 || status === 304 || body.length === 0) return PASS;
  const media = findResponseMedia(op, status, header(headers, 'content-type'));
  if (media === null || bodyKind(media.mediaType === '*/*' ? 'application/json' : media.mediaType) !== 'json') return PASS;
  const enc = header(headers, 'content-encoding');
  if (enc !== undefined && enc.toLowerCase() !== 'identity') {
    return {
      kind: 'invalid',
      items: [{ pointer: '/response', reason: 'encoded response cannot be validated' }],
      reason: `content-encoding ${enc.slice(0, 20)}`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { kind: 'invalid', items: [{ pointer: '/response', reason: 'is not valid JSON' }], reason: 'response is not JSON' };
  }
  let changed = false;
  if (mode === 'filter') changed = filterUndeclared(value, media.schema, op.responseDefs, 0);
  if (!media.validate(value)) {
    const items: ProblemItem[] = [];
    appendAjvErrors(items, media.validate.errors, '/response', maxErrors);
    const first = items[0];
    return { kind: 'invalid', items, reason: first ? `${first.pointer} ${first.reason}` : 'response does not match the schema' };
  }
  return changed ? { kind: 'replace', body: Buffer.from(JSON.stringify(value), 'utf8') } : PASS;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

interface Declared {
  props: Map<string, unknown>;
  patterns: { re: RegExp; schema: unknown }[];
  /** schema for undeclared keys (a map), `true` to keep them, null to remove them */
  additional: unknown;
  /** the schema says nothing about properties: a free-form object, kept as is */
  freeForm: boolean;
}

function collect(s: unknown, defs: Readonly<Record<string, unknown>>, d: Declared, depth: number): void {
  s = derefConverted(s, defs);
  if (!isObj(s) || depth > 8) return;
  if (isObj(s['properties'])) {
    d.freeForm = false;
    for (const [k, v] of Object.entries(s['properties'])) if (!d.props.has(k) && v !== false) d.props.set(k, v);
  }
  if (isObj(s['patternProperties'])) {
    d.freeForm = false;
    for (const [p, v] of Object.entries(s['patternProperties'])) {
      try {
        d.patterns.push({ re: new RegExp(p, 'u'), schema: v });
      } catch {
        /* Ajv compiled it; an unparsable pattern here keeps nothing */
      }
    }
  }
  const ap = s['additionalProperties'];
  if (ap !== undefined) {
    d.freeForm = false;
    if (ap === true || isObj(ap)) d.additional = ap;
  }
  for (const k of ['allOf', 'anyOf', 'oneOf']) {
    const list = s[k];
    if (Array.isArray(list)) for (const b of list) collect(b, defs, d, depth + 1);
  }
}

/** Removes undeclared properties in place; true when something was removed. */
export function filterUndeclared(v: unknown, schema: unknown, defs: Readonly<Record<string, unknown>>, depth: number): boolean {
  if (depth > 64 || v === null || typeof v !== 'object') return false;
  const s = derefConverted(schema, defs);
  if (!isObj(s)) return false;
  let changed = false;
  if (Array.isArray(v)) {
    const items = s['items'];
    if (items !== undefined && typeof items !== 'boolean') for (const e of v) changed = filterUndeclared(e, items, defs, depth + 1) || changed;
    else
      for (const k of ['allOf', 'anyOf', 'oneOf']) {
        const list = s[k];
        if (Array.isArray(list)) for (const b of list) changed = filterUndeclared(v, b, defs, depth + 1) || changed;
      }
    return changed;
  }
  const d: Declared = { props: new Map(), patterns: [], additional: null, freeForm: true };
  collect(s, defs, d, 0);
  if (d.freeForm) return false;
  const o = v as Json;
  for (const k of Object.keys(o)) {
    let sub: unknown = d.props.get(k);
    if (sub === undefined) sub = d.patterns.find((p) => p.re.test(k))?.schema;
    if (sub === undefined) {
      if (d.additional === null) {
        delete o[k];
        changed = true;
        continue;
      }
      sub = d.additional;
    }
    if (sub !== true) changed = filterUndeclared(o[k], sub, defs, depth + 1) || changed;
  }
  return changed;
}
