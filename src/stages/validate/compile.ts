/**
 * Compiles the operations of one OpenAPI document into validators, once per config snapshot:
 * one Ajv instance per document and purpose (coercing for parameters and form fields, strict
 * for JSON bodies and responses), every schema compiled before the first request.
 */
import { Ajv, type ValidateFunction, type Options as AjvOptions } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { AJV_CODE } from '../../config/ajv-options.js';
import { linearEngine } from '../../core/linear-regex.js';
import { bodyKind } from '../../body/media.js';
import { SchemaConverter } from '../../openapi/schema.js';
import { paramSchema, paramSpec, type ParamSpec } from '../../openapi/params.js';
import type { OperationInfo } from '../../openapi/operations.js';
import type { LoadedSpec } from '../../openapi/load.js';
import type { SchemaObject } from '../../openapi/types.js';
import { staticPointers, pointerPlan, EMPTY_PLAN, type PointerPlan } from './pointers.js';
import type { BodyKind } from '../../core/reading.js';

type AnyAjv = Ajv | Ajv2020;
const addFormats = addFormatsModule as unknown as (ajv: AnyAjv) => AnyAjv;

export interface ParamGroup {
  readonly specs: readonly ParamSpec[];
  /** validates the object of all parameters of this location (coerces strings) */
  readonly validate: ValidateFunction;
}

export interface CompiledMedia {
  /** lowercase media type or range as declared (`application/json`, `image/*`, `*\/*`) */
  readonly mediaType: string;
  readonly kind: BodyKind;
  /** null when the media type has no schema */
  readonly validate: ValidateFunction | null;
  readonly pointers: PointerPlan;
}

export interface CompiledBody {
  readonly required: boolean;
  readonly media: readonly CompiledMedia[];
}

export interface CompiledResponseMedia {
  readonly mediaType: string;
  readonly kind: BodyKind;
  readonly validate: ValidateFunction;
  /** the converted schema (for the filter) */
  readonly schema: unknown;
}

export interface CompiledOperation {
  readonly key: string;
  readonly method: string;
  readonly path: string;
  readonly path_: ParamGroup | null;
  readonly query: ParamGroup | null;
  readonly header: ParamGroup | null;
  readonly cookie: ParamGroup | null;
  readonly body: CompiledBody | null;
  /** status (`200`, `2XX`, `default`) → media types with a schema */
  readonly responses: ReadonlyMap<string, readonly CompiledResponseMedia[]>;
  /** converted response defs (recursive schemas), for the filter */
  readonly responseDefs: Readonly<Record<string, unknown>>;
  /** pointers of parameters whose values are constrained (`/path/id`, `/query/limit`) */
  readonly paramPointers: ReadonlySet<string>;
}

export interface CompiledApi {
  readonly id: string;
  readonly spec: LoadedSpec;
  readonly operations: ReadonlyMap<string, CompiledOperation>;
  /** what Ajv ignored while compiling (an unknown `format`: no check is made for it), for the gateway's log */
  readonly warnings: readonly string[];
}

function int32(v: number): boolean {
  return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;
}

/**
 * True when a pattern cannot backtrack super-linearly: anchored at the start, no alternation, no
 * quantified group, at most one unbounded quantifier (`*`, `+`, `{n,}`). Such patterns keep V8's
 * JIT-compiled engine (about 40x faster than the linear-time interpreter).
 */
export function isSimplePattern(p: string): boolean {
  if (!p.startsWith('^')) return false;
  let unbounded = 0;
  for (let i = 1; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      for (i++; i < p.length && p[i] !== ']'; i++) if (p[i] === '\\') i++;
      continue;
    }
    if (c === '|' || c === '(' || c === ')') return false;
    if (c === '*' || c === '+') unbounded++;
    else if (c === '{' && /^\{\d*,\}/.test(p.slice(i))) unbounded++;
    if (unbounded > 1) return false;
  }
  return true;
}

/**
 * Schema `pattern`s run against attacker input. Patterns that could backtrack catastrophically
 * (e.g. `^(a+)+$`, `^a+a+$`, unanchored ones) are compiled for V8's linear-time engine when the
 * pattern allows it; simple ones keep the default engine. Patterns that need Unicode mode
 * (`\p{..}`, `\u{..}`) or backtracking features (lookaround, backreferences) keep the default
 * engine; input strings are bounded by `json.max_string_length` either way.
 */
export const safeRegExp = Object.assign(
  (pattern: string, flags: string): RegExp => {
    if (!isSimplePattern(pattern) && linearEngine() && !/\\[pPu]\{/.test(pattern)) {
      try {
        return new RegExp(pattern, `${flags.replace('u', '')}l`);
      } catch {
        /* not linear-compatible: default engine below */
      }
    }
    return new RegExp(pattern, flags);
  },
  { code: 'new RegExp' },
);

function newAjv(version: LoadedSpec['version'], extra: AjvOptions, warnings: string[]): AnyAjv {
  // Ajv's own messages (console.warn by default) go to the gateway's JSON log through `warnings`
  const note = (...a: unknown[]): void => {
    if (warnings.length < 100) warnings.push(a.map(String).join(' '));
  };
  const logger = { log: () => undefined, warn: note, error: note };
  const opts: AjvOptions = { strict: false, allErrors: true, validateFormats: true, logger, code: { ...AJV_CODE, regExp: safeRegExp }, ...extra };
  const ajv = version === '3.1' ? new Ajv2020(opts) : new Ajv(opts);
  addFormats(ajv);
  ajv.addFormat('int32', { type: 'number', validate: int32 });
  ajv.addFormat('int64', { type: 'number', validate: (v: number) => Number.isInteger(v) });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  ajv.addFormat('binary', () => true);
  ajv.addFormat('password', () => true);
  return ajv;
}

interface PendingGroup {
  specs: ParamSpec[];
  schema: Record<string, unknown>;
}

/** Compiles every operation of a document. Throws on a schema Ajv cannot compile (message names the operation). */
export function compileApi(id: string, spec: LoadedSpec, ops: readonly OperationInfo[]): CompiledApi {
  const reqConv = new SchemaConverter(spec.version, 'request', 'pc-request');
  const resConv = new SchemaConverter(spec.version, 'response', 'pc-response');
  const warnings: string[] = [];
  const paramAjv = newAjv(spec.version, { coerceTypes: 'array' }, warnings);
  const bodyAjv = newAjv(spec.version, {}, warnings);
  const formAjv = newAjv(spec.version, { coerceTypes: 'array' }, warnings);
  const resAjv = newAjv(spec.version, {}, warnings);

  // pass 1: convert every schema (recursive ones land in the converters' defs)
  const plans = ops.map((op) => {
    const groups: Record<'path' | 'query' | 'header' | 'cookie', PendingGroup | null> = { path: null, query: null, header: null, cookie: null };
    const paramPointers = new Set<string>();
    for (const p of op.parameters) {
      const ps = paramSpec(p);
      if (ps === null) continue;
      const g = (groups[ps.in] ??= { specs: [], schema: { type: 'object', properties: {}, required: [] } });
      g.specs.push(ps);
      const raw = paramSchema(p);
      const converted = reqConv.convert(raw);
      (g.schema['properties'] as Record<string, unknown>)[ps.key] = converted;
      if (ps.required) (g.schema['required'] as string[]).push(ps.key);
      for (const ptr of staticPointers(raw, `/${ps.in}/${escapePointer(ps.key)}`)) paramPointers.add(ptr);
    }
    const body = op.requestBody
      ? {
          required: op.requestBody.required === true,
          media: Object.entries(op.requestBody.content).map(([mt, m]) => ({
            mediaType: mt.split(';')[0]!.trim().toLowerCase(),
            schema: m?.schema === undefined ? null : reqConv.convert(m.schema),
            raw: m?.schema,
          })),
        }
      : null;
    const responses: [string, { mediaType: string; schema: unknown }[]][] = [];
    for (const [status, r] of Object.entries(op.responses)) {
      const list: { mediaType: string; schema: unknown }[] = [];
      for (const [mt, m] of Object.entries(r?.content ?? {})) {
        if (m?.schema === undefined) continue;
        list.push({ mediaType: mt.split(';')[0]!.trim().toLowerCase(), schema: resConv.convert(m.schema) });
      }
      if (list.length > 0) responses.push([status.toUpperCase(), list]);
    }
    return { op, groups, paramPointers, body, responses };
  });

  // pass 2: register recursive definitions, then compile
  if (reqConv.hasDefs) for (const a of [paramAjv, bodyAjv, formAjv]) a.addSchema({ $id: 'pc-request', $defs: reqConv.defs });
  if (resConv.hasDefs) resAjv.addSchema({ $id: 'pc-response', $defs: resConv.defs });

  const operations = new Map<string, CompiledOperation>();
  for (const { op, groups, paramPointers, body, responses } of plans) {
    const where = `operation '${op.key}'`;
    const compile = (ajv: AnyAjv, schema: unknown, what: string): ValidateFunction => {
      try {
        return ajv.compile(schema as object);
      } catch (e) {
        throw new Error(`${where}: ${what} schema does not compile: ${(e as Error).message.split('\n')[0]}`);
      }
    };
    const group = (g: PendingGroup | null, what: string): ParamGroup | null => (g ? { specs: g.specs, validate: compile(paramAjv, g.schema, what) } : null);
    operations.set(op.key, {
      key: op.key,
      method: op.method,
      path: op.path,
      path_: group(groups.path, 'path parameters'),
      query: group(groups.query, 'query parameters'),
      header: group(groups.header, 'header parameters'),
      cookie: group(groups.cookie, 'cookie parameters'),
      body: body
        ? {
            required: body.required,
            media: body.media.map((m) => {
              const kind = bodyKind(m.mediaType);
              const ajv = kind === 'form' || kind === 'multipart' ? formAjv : bodyAjv;
              return {
                mediaType: m.mediaType,
                kind,
                validate: m.schema === null ? null : compile(ajv, m.schema, `request body (${m.mediaType})`),
                pointers: withParams(kind === 'json' || kind === 'form' || kind === 'multipart' ? planFor(m.raw) : EMPTY_PLAN, paramPointers),
              };
            }),
          }
        : null,
      responses: new Map(
        responses.map(([status, list]) => [
          status,
          list.map((m) => ({
            mediaType: m.mediaType,
            kind: bodyKind(m.mediaType),
            schema: m.schema,
            validate: compile(resAjv, m.schema, `response ${status} (${m.mediaType})`),
          })),
        ]),
      ),
      responseDefs: resConv.defs,
      paramPointers,
    });
  }
  return { id, spec, operations, warnings: [...new Set(warnings)] };
}

function planFor(raw: SchemaObject | undefined): PointerPlan {
  return raw === undefined ? EMPTY_PLAN : pointerPlan(raw, '/body');
}

/** A body plan whose fixed pointers also hold the operation's parameter pointers (one shared set). */
function withParams(plan: PointerPlan, params: ReadonlySet<string>): PointerPlan {
  if (params.size === 0) return plan;
  return { fixed: new Set([...params, ...plan.fixed]), wild: plan.wild };
}

export function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}
