/**
 * The operations of an OpenAPI document: one per (path, method), with path-level parameters
 * merged under operation-level ones, the effective security requirements (operation's, else the
 * document's) and the `x-portcullis-*` extensions (operation over path item over document).
 */
import { HTTP_METHODS, type ParameterObject, type RequestBodyObject, type ResponseObject, type SecurityRequirement } from './types.js';
import type { LoadedSpec } from './load.js';

export interface OperationInfo {
  /** operationId, or `METHOD /path` when the operation has none */
  readonly key: string;
  readonly operationId: string | null;
  /** uppercase */
  readonly method: string;
  /** the path template as written in the spec, e.g. `/items/{id}` */
  readonly path: string;
  readonly parameters: readonly ParameterObject[];
  readonly requestBody: RequestBodyObject | null;
  readonly responses: Readonly<Record<string, ResponseObject>>;
  /** null when neither the operation nor the document declares `security` */
  readonly security: readonly SecurityRequirement[] | null;
  /** `x-portcullis-*` extensions with the prefix removed (`x-portcullis-auth` → `auth`) */
  readonly extensions: Readonly<Record<string, unknown>>;
}

export class SpecError extends Error {
  constructor(
    message: string,
    readonly pointer: string,
  ) {
    super(message);
    this.name = 'SpecError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const EXT = 'x-portcullis-';

/** `x-portcullis-*` keys of an object, prefix removed. */
export function portcullisExtensions(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (k.startsWith(EXT)) out[k.slice(EXT.length)] = o[k];
  return out;
}

function esc(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function readSecurity(v: unknown, ptr: string): SecurityRequirement[] {
  if (!Array.isArray(v)) throw new SpecError('`security` must be an array', ptr);
  return v.map((req, i) => {
    if (!isObj(req)) throw new SpecError('a security requirement must be an object', `${ptr}/${i}`);
    for (const [name, scopes] of Object.entries(req)) {
      if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) {
        throw new SpecError(`scopes of '${name}' must be an array of strings`, `${ptr}/${i}/${esc(name)}`);
      }
    }
    return req as SecurityRequirement;
  });
}

function readParams(v: unknown, ptr: string): ParameterObject[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new SpecError('`parameters` must be an array', ptr);
  return v.map((p, i) => {
    if (!isObj(p) || typeof p['name'] !== 'string' || !['path', 'query', 'header', 'cookie'].includes(p['in'] as string)) {
      throw new SpecError('a parameter needs a string `name` and `in` of path, query, header or cookie', `${ptr}/${i}`);
    }
    if (p['in'] === 'path' && p['required'] !== true) throw new SpecError(`path parameter '${p['name']}' must be required`, `${ptr}/${i}`);
    return p as unknown as ParameterObject;
  });
}

/** Lists the operations of a loaded document, in document order. Throws SpecError. */
export function listOperations(spec: LoadedSpec): OperationInfo[] {
  const doc = spec.doc;
  const docSecurity = doc['security'] === undefined ? null : readSecurity(doc['security'], '/security');
  const docExt = portcullisExtensions(doc);
  const paths = isObj(doc['paths']) ? doc['paths'] : {};
  const out: OperationInfo[] = [];
  const seenIds = new Set<string>();
  for (const [path, item] of Object.entries(paths)) {
    const itemPtr = `/paths/${esc(path)}`;
    if (!path.startsWith('/')) throw new SpecError('a path must start with /', itemPtr);
    if (!isObj(item)) throw new SpecError('a path item must be an object', itemPtr);
    const shared = readParams(item['parameters'], `${itemPtr}/parameters`);
    const itemExt = portcullisExtensions(item);
    for (const m of HTTP_METHODS) {
      const op = item[m];
      if (op === undefined) continue;
      const opPtr = `${itemPtr}/${m}`;
      if (!isObj(op)) throw new SpecError('an operation must be an object', opPtr);
      const own = readParams(op['parameters'], `${opPtr}/parameters`);
      const params = [...shared.filter((s) => !own.some((o) => o.name === s.name && o.in === s.in)), ...own];
      const declared = new Set(params.filter((p) => p.in === 'path').map((p) => p.name));
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((x) => x[1] as string);
      for (const name of inTemplate) {
        if (!declared.has(name)) throw new SpecError(`path parameter '${name}' is in the template but not declared`, opPtr);
      }
      for (const name of declared) {
        if (!inTemplate.includes(name)) throw new SpecError(`path parameter '${name}' is declared but not in the template`, opPtr);
      }
      const operationId = typeof op['operationId'] === 'string' && op['operationId'] !== '' ? op['operationId'] : null;
      if (operationId !== null) {
        if (seenIds.has(operationId)) throw new SpecError(`duplicate operationId '${operationId}'`, opPtr);
        seenIds.add(operationId);
      }
      let requestBody: RequestBodyObject | null = null;
      if (op['requestBody'] !== undefined) {
        const rb = op['requestBody'];
        if (!isObj(rb) || !isObj(rb['content'])) throw new SpecError('`requestBody` needs a `content` object', `${opPtr}/requestBody`);
        requestBody = rb as unknown as RequestBodyObject;
      }
      const responses = isObj(op['responses']) ? (op['responses'] as Record<string, ResponseObject>) : {};
      out.push({
        key: operationId ?? `${m.toUpperCase()} ${path}`,
        operationId,
        method: m.toUpperCase(),
        path,
        parameters: params,
        requestBody,
        responses,
        security: op['security'] !== undefined ? readSecurity(op['security'], `${opPtr}/security`) : docSecurity,
        extensions: { ...docExt, ...itemExt, ...portcullisExtensions(op) },
      });
    }
  }
  return out;
}
