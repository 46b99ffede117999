/**
 * Route generation from OpenAPI documents (StageModule.prepare): every operation of every entry
 * of `apis` becomes a route appended to `config.routes`, with
 *   - match: base_path + path template, the method, the API's hosts;
 *   - validate: { api, operation, ...settings } (this stage's route key);
 *   - auth: from the operation's (or document's) `security` (see src/openapi/security.ts);
 *   - other route keys from `x-portcullis-*` extensions (document < path item < operation),
 *     then `apis[].defaults`, then `apis[].overrides[operation]` (config wins).
 * Generated routes are checked against the composed route schema (defaults applied), so that a
 * bad override or extension is a ConfigError, not a surprise at request time.
 */
import { resolve } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { AJV_CODE } from '../../config/ajv-options.js';
import { type ConfigError, configErrorAt } from '../../config/errors.js';
import type { CanonicalConfig, RouteConfig } from '../../core/config.js';
import type { PrepareEnv, StageEnv } from '../../core/stage.js';
import type { JsonSchema } from '../../core/json-schema.js';
import { loadOpenApi, type LoadedSpec } from '../../openapi/load.js';
import { listOperations, SpecError, type OperationInfo } from '../../openapi/operations.js';
import { apiKeyQueryParams, mapSecurity } from '../../openapi/security.js';

export interface ApiConfig {
  id: string;
  spec: string;
  upstream: string;
  base_path?: string;
  strip_base_path: boolean;
  hosts?: string[];
  auth_provider?: string;
  validate: Record<string, unknown>;
  defaults: Record<string, unknown>;
  overrides: Record<string, Record<string, unknown>>;
}

export interface PreparedApi {
  readonly config: ApiConfig;
  readonly spec: LoadedSpec;
  readonly operations: readonly OperationInfo[];
}

/** Loaded documents of a config, from prepare to create (same config object). */
const prepared = new WeakMap<CanonicalConfig, Map<string, PreparedApi>>();

/** Route keys a spec extension may not set. */
const RESERVED = new Set(['id', 'match', 'upstream', 'strip_prefix', 'rewrite']);

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `/api` from `servers: [{ url: https://x.example/api/ }]`; '' when none or templated. */
export function serverBasePath(doc: Record<string, unknown>): string {
  const servers = doc['servers'];
  if (!Array.isArray(servers) || !isObj(servers[0]) || typeof servers[0]['url'] !== 'string') return '';
  const url = servers[0]['url'];
  if (url.includes('{')) return '';
  let path: string;
  if (url.startsWith('/')) path = url;
  else {
    try {
      path = new URL(url).pathname;
    } catch {
      return '';
    }
  }
  return path.replace(/\/+$/, '');
}

/** A route id segment from an operation key. */
export function routeIdPart(op: OperationInfo): string {
  if (op.operationId !== null) return op.operationId.replace(/[^A-Za-z0-9_.:-]/g, '_');
  const p = op.path
    .replace(/[{}]/g, '')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return `${op.method.toLowerCase()}_${p === '' ? 'root' : p}`;
}

function extToRouteKeys(ext: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ext)) {
    if (k === 'provider') continue;
    out[k.replace(/-/g, '_')] = v;
  }
  return out;
}

function mergeRoute(into: Record<string, unknown>, layer: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(layer)) {
    if (k === 'validate' && isObj(v) && isObj(into['validate'])) into['validate'] = { ...into['validate'], ...v };
    else into[k] = v;
  }
}

/** Builds the route of one operation (pure, exported for tests). */
export function buildRoute(api: ApiConfig, spec: LoadedSpec, op: OperationInfo, basePath: string): { route: RouteConfig } | { error: string } {
  const components = isObj(spec.doc['components']) ? spec.doc['components'] : {};
  const schemes = isObj(components['securitySchemes']) ? components['securitySchemes'] : {};
  const sec = mapSecurity(op.security, schemes, api.auth_provider ?? null);
  if (!sec.ok) return { error: `operation '${op.key}': ${sec.reason}` };
  const route: Record<string, unknown> = {
    id: `${api.id}.${routeIdPart(op)}`,
    match: { path: `${basePath}${op.path}`, methods: [op.method], ...(api.hosts ? { hosts: api.hosts } : {}) },
    upstream: api.upstream,
  };
  if (api.strip_base_path && basePath !== '') route['strip_prefix'] = basePath;
  if (sec.auth !== null) route['auth'] = sec.auth;
  route['validate'] = { ...api.validate };
  mergeRoute(route, api.defaults);
  const ext = extToRouteKeys(op.extensions);
  for (const k of Object.keys(ext)) if (RESERVED.has(k)) return { error: `operation '${op.key}': x-portcullis-${k} cannot be set from the spec` };
  mergeRoute(route, ext);
  const ov = api.overrides[op.key];
  if (ov !== undefined) {
    for (const k of Object.keys(ov)) if (RESERVED.has(k)) return { error: `override of '${op.key}': '${k}' cannot be overridden` };
    mergeRoute(route, ov);
  }
  route['validate'] = { ...(route['validate'] as Record<string, unknown>), api: api.id, operation: op.key };
  return { route: route as RouteConfig };
}

/** Compiled validators of generated routes, by route schema (the same object on every load of one gateway). */
const routeValidators = new WeakMap<object, { fn: ValidateFunction; keys: ReadonlySet<string> }>();

async function routeSchemaValidator(routeSchema: JsonSchema): Promise<{ fn: ValidateFunction; keys: ReadonlySet<string> }> {
  const hit = routeValidators.get(routeSchema);
  if (hit) return hit;
  const ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: false, allowUnionTypes: true, code: AJV_CODE });
  const addFormats = (await import('ajv-formats')).default as unknown as (a: Ajv2020) => Ajv2020;
  addFormats(ajv);
  const properties = (routeSchema as { properties?: Record<string, unknown> }).properties ?? {};
  const v = { fn: ajv.compile(routeSchema), keys: new Set(Object.keys(properties)) };
  routeValidators.set(routeSchema, v);
  return v;
}

export async function prepareApis(config: CanonicalConfig, env: PrepareEnv): Promise<void> {
  const apis = (config['apis'] ?? []) as ApiConfig[];
  const out = new Map<string, PreparedApi>();
  prepared.set(config, out);
  if (apis.length === 0) return;
  const { fn: check, keys: routeKeys } = await routeSchemaValidator(env.routeSchema);
  /** host set + method + path template of generated routes: two operations may not claim the same */
  const claimed = new Map<string, string>();
  for (let i = 0; i < apis.length; i++) {
    const api = apis[i] as ApiConfig;
    const at = (k: (string | number)[], msg: string): ConfigError => configErrorAt(env.file, ['apis', i, ...k], msg);
    if (out.has(api.id)) throw at(['id'], `duplicate API id '${api.id}'`);
    if (!(api.upstream in config.upstreams)) throw at(['upstream'], `unknown upstream '${api.upstream}'`);
    const spec = await loadOpenApi(resolve(env.baseDir, api.spec), { configFile: env.file, keyPath: `apis[${i}].spec` });
    let ops: OperationInfo[];
    try {
      ops = listOperations(spec);
    } catch (e) {
      if (e instanceof SpecError) throw at(['spec'], `OpenAPI document ${spec.file}#${e.pointer}: ${e.message}`);
      throw e;
    }
    if (ops.length === 0) throw at(['spec'], `OpenAPI document ${spec.file} declares no operations`);
    for (const key of Object.keys(api.overrides)) {
      if (!ops.some((o) => o.key === key)) throw at(['overrides', key], `no operation '${key}' in ${spec.file} (use an operationId or 'METHOD /path')`);
    }
    const basePath = (api.base_path ?? serverBasePath(spec.doc)).replace(/\/+$/, '');
    const ids = new Set<string>();
    for (const op of ops) {
      const built = buildRoute(api, spec, op, basePath);
      if ('error' in built) throw at(['spec'], `${spec.file}: ${built.error}`);
      let id = built.route.id;
      for (let n = 2; ids.has(id); n++) id = `${built.route.id}_${n}`;
      built.route.id = id;
      ids.add(id);
      // checked (and defaults applied) against the composed route schema; a generated `auth`
      // section is kept as is when no registered stage declares the key
      const candidate: RouteConfig = { ...built.route };
      const genAuth = !routeKeys.has('auth') && api.overrides[op.key]?.['auth'] === undefined && !('auth' in op.extensions) ? candidate['auth'] : undefined;
      if (genAuth !== undefined) delete candidate['auth'];
      if (!check(candidate)) {
        const e = check.errors?.[0];
        const where =
          `${e?.instancePath ?? ''} ${e?.message ?? ''}${e?.keyword === 'additionalProperties' ? ` '${String((e.params as { additionalProperty: string }).additionalProperty)}'` : ''}`.trim();
        throw at(api.overrides[op.key] ? ['overrides', op.key] : ['spec'], `generated route for operation '${op.key}' is not valid: ${where}`);
      }
      if (genAuth !== undefined) candidate['auth'] = genAuth;
      const claim = `${(api.hosts ?? []).slice().sort().join(',')}|${op.method}|${candidate.match.path ?? ''}`.replace(/\{[^}]*\}/g, '{}');
      const prev = claimed.get(claim);
      if (prev !== undefined) throw at(['spec'], `operation '${op.key}' (${op.method} ${candidate.match.path ?? ''}) collides with route '${prev}'`);
      claimed.set(claim, candidate.id);
      config.routes.push(candidate);
    }
    out.set(api.id, { config: api, spec, operations: ops });
  }
}

/** The query parameters that the documents prepared for this config declare as API-key carriers. */
export function preparedApiKeyQueryParams(config: CanonicalConfig): string[] {
  return [...(prepared.get(config)?.values() ?? [])].flatMap((p) => apiKeyQueryParams(p.spec.doc));
}

/** The documents loaded by prepare for this config, or a fresh load (when the config was copied). */
export async function preparedApis(config: CanonicalConfig, env: Omit<StageEnv, 'config'>): Promise<Map<string, PreparedApi>> {
  const p = prepared.get(config);
  if (p !== undefined) return p;
  const out = new Map<string, PreparedApi>();
  const apis = (config['apis'] ?? []) as ApiConfig[];
  for (let i = 0; i < apis.length; i++) {
    const api = apis[i] as ApiConfig;
    const spec = await loadOpenApi(resolve(env.baseDir, api.spec), { configFile: env.file, keyPath: `apis[${i}].spec` });
    out.set(api.id, { config: api, spec, operations: listOperations(spec) });
  }
  prepared.set(config, out);
  return out;
}
