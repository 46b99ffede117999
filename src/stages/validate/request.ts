/**
 * Request validation of one operation: parameters (path, query, headers, cookies), content type,
 * safe body parsing and the body schema. Synchronous; everything it runs was compiled before
 * the first request. Writes the parsed body and the validated pointers to `out`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { deny, type Deny, type ProblemItem } from '../../core/decision.js';
import { rootName } from '../../body/form.js';
import { deserialiseSimple, parseCookies, queryValues } from '../../openapi/params.js';
import type { CompiledMedia, CompiledOperation, ParamGroup } from './compile.js';
import { appendAjvErrors } from './problems.js';
import { expandPlan } from './pointers.js';
import type { BodyReading, MediaType, Pair } from '../../core/reading.js';

export interface RequestSettings {
  readonly maxErrors: number;
  /** refuse query parameters the operation does not declare */
  readonly rejectUnknownQuery?: boolean;
}

/** The request as the gateway read it once (intake and the body step): what validation checks. */
export interface RequestInput {
  readonly params: Readonly<Record<string, string>>;
  /** the decoded query pairs, in order */
  readonly queryPairs: readonly Pair[];
  readonly headers: IncomingHttpHeaders;
  /** the request's media type, null without Content-Type */
  readonly media: MediaType | null;
  /** the body's one reading, null when no body was read */
  readonly body: BodyReading | null;
  /** why the body could not be read, or null */
  readonly bodyRefusal: Deny | null;
  /** the request announced a body (Content-Length > 0 or Transfer-Encoding) */
  readonly hasBody: boolean;
  /** bytes of the body read (0 when none) */
  readonly bodyBytes: number;
}

export interface RequestSink {
  parsedBody: unknown;
  validatedPointers: Set<string> | null;
}

/** The method-override parameter of Express's method-override, Rails and Laravel forms. */
const METHOD_OVERRIDE = '_method';

/** Finds the declared media type for a request media type: exact, then `type/*`, then `*\/*`. */
export function matchMedia(media: readonly CompiledMedia[], mt: string): CompiledMedia | null {
  let range: CompiledMedia | null = null;
  let any: CompiledMedia | null = null;
  const slash = mt.indexOf('/');
  for (const m of media) {
    if (m.mediaType === mt) return m;
    if (m.mediaType === '*/*') any = m;
    else if (m.mediaType.endsWith('/*') && m.mediaType.length === slash + 2 && mt.startsWith(m.mediaType.slice(0, slash + 1))) range = m;
  }
  return range ?? any;
}

/** True when `name` is a declared query parameter (or a property of a deepObject / exploded object one). */
function isDeclaredQuery(op: CompiledOperation, name: string): boolean {
  if (op.query === null) return false;
  for (const s of op.query.specs) {
    if (s.name === name) return true;
    if (s.style === 'deepObject' && name.startsWith(`${s.name}[`)) return true;
    if (s.shape === 'object' && s.explode && s.properties.includes(name)) return true;
  }
  return false;
}

function validateGroup(g: ParamGroup, values: Record<string, unknown>, prefix: string, items: ProblemItem[], max: number): void {
  if (!g.validate(values)) appendAjvErrors(items, g.validate.errors, prefix, max);
}

function pointerPart(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1').slice(0, 100);
}

/**
 * A bracketed name whose root is a declared parameter (`limit[]`, `limit[0]`, `sort[x]`), or a
 * nested one of a deepObject parameter (`filter[a][b]`): qs, Rails and PHP read these as the
 * parameter, which the schema never saw in that shape. Null when there is none.
 */
function bracketedDeclared(op: CompiledOperation, pairs: readonly Pair[]): string | null {
  if (op.query === null) return null;
  for (const [name] of pairs) {
    if (name.indexOf('[') < 0) continue;
    const root = rootName(name);
    for (const s of op.query.specs) {
      if (s.style === 'deepObject' && s.name === root) {
        // one level only: `filter[status]`
        if (name.indexOf('[', root.length + 1) >= 0) return name;
        continue;
      }
      if (s.name === root || (s.shape === 'object' && s.explode && s.properties.includes(root))) return name;
    }
  }
  return null;
}

/** The value a schema checks for a body reading (undefined: not checked: opaque bytes, XML and NDJSON, whose schemas describe another shape). */
function checkedValue(r: BodyReading): unknown {
  switch (r.kind) {
    case 'json':
    case 'form':
    case 'multipart':
      return r.value;
    case 'text':
      return r.text;
    default:
      return undefined;
  }
}

/** A `_method` field at the top of a form, multipart or JSON object body. */
function hasMethodOverride(r: BodyReading): boolean {
  if (r.kind === 'form' || r.kind === 'multipart') return r.value[METHOD_OVERRIDE] !== undefined;
  if (r.kind === 'json') return r.value !== null && typeof r.value === 'object' && !Array.isArray(r.value) && Object.hasOwn(r.value, METHOD_OVERRIDE);
  return false;
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Validates one request; returns a Deny or undefined (valid). */
export function validateRequest(op: CompiledOperation, input: RequestInput, settings: RequestSettings, out: RequestSink): Deny | undefined {
  const items: ProblemItem[] = [];
  const max = settings.maxErrors;

  if (op.path_ !== null) {
    const values = Object.create(null) as Record<string, unknown>;
    for (const s of op.path_.specs) {
      const raw = input.params[s.name];
      if (raw !== undefined) values[s.key] = deserialiseSimple(raw, s);
    }
    validateGroup(op.path_, values, '/path', items, max);
  }
  const pairs = input.queryPairs;
  for (const [name] of pairs) {
    if (name === METHOD_OVERRIDE)
      return deny('PC_ERR_METHOD_OVERRIDE', { detail: 'Send the method itself, not a _method parameter.', reason: 'method override in the query' });
  }
  const strictQuery = settings.rejectUnknownQuery === true && pairs.length > 0;
  if (op.query !== null || strictQuery) {
    if (op.query !== null) {
      const bracket = bracketedDeclared(op, pairs);
      if (bracket !== null) {
        return deny('PC_ERR_VALIDATION', {
          errors: [
            { pointer: `/query/${pointerPart(bracket)}`, reason: 'brackets on a declared parameter (qs, Rails and PHP read it as the parameter itself)' },
          ],
          reason: 'query: bracketed name of a declared parameter',
        });
      }
      validateGroup(op.query, queryValues(pairs, op.query.specs), '/query', items, max);
    }
    if (strictQuery) {
      for (const [name] of pairs) {
        if (items.length >= max) break;
        if (!isDeclaredQuery(op, name)) items.push({ pointer: `/query/${pointerPart(name)}`, reason: 'is not a declared parameter' });
      }
    }
  }
  if (op.header !== null) {
    const values = Object.create(null) as Record<string, unknown>;
    for (const s of op.header.specs) {
      const raw = single(input.headers[s.key]);
      if (raw !== undefined) values[s.key] = deserialiseSimple(raw, s);
    }
    validateGroup(op.header, values, '/header', items, max);
  }
  if (op.cookie !== null) {
    const cookies = parseCookies(single(input.headers.cookie));
    const values = Object.create(null) as Record<string, unknown>;
    for (const s of op.cookie.specs) {
      const raw = cookies[s.name];
      if (raw !== undefined) values[s.key] = s.shape === 'scalar' ? raw : deserialiseSimple(raw, { ...s, in: 'header' });
    }
    validateGroup(op.cookie, values, '/cookie', items, max);
  }

  let pointers: ReadonlySet<string> = op.paramPointers;
  const body = op.body;
  if (body === null) {
    // the body of an operation without requestBody is not read (input.body is null): the announcement is enough
    if (input.hasBody && (input.body === null || input.bodyBytes !== 0)) {
      return deny('PC_ERR_UNSUPPORTED_MEDIA_TYPE', { detail: 'This operation takes no request body.', reason: 'body on an operation without requestBody' });
    }
  } else if (input.bodyRefusal !== null) {
    return input.bodyRefusal;
  } else if (input.bodyBytes === 0 || input.body === null) {
    if (body.required) return deny('PC_ERR_BODY_REQUIRED', { reason: 'required body missing' });
  } else {
    const mt = input.media?.essence ?? '';
    const media = mt === '' ? null : matchMedia(body.media, mt);
    if (media === null) {
      return deny('PC_ERR_UNSUPPORTED_MEDIA_TYPE', {
        detail: `Accepted content types: ${body.media.map((m) => m.mediaType).join(', ')}.`.slice(0, 300),
        reason: mt === '' ? 'missing or invalid content-type' : `undeclared content-type ${mt.slice(0, 80)}`,
      });
    }
    const value = checkedValue(input.body);
    if (hasMethodOverride(input.body))
      return deny('PC_ERR_METHOD_OVERRIDE', { detail: 'Send the method itself, not a _method field.', reason: 'method override in the body' });
    if (media.validate !== null && value !== undefined && !media.validate(value)) {
      appendAjvErrors(items, media.validate.errors, '/body', max);
      if (items.length === 0) items.push({ pointer: '/body', reason: 'does not match the schema' });
    }
    out.parsedBody = value;
    if (items.length === 0 && value !== undefined) pointers = expandPlan(media.pointers, value, '/body');
  }

  if (items.length > 0) {
    const first = items[0] as ProblemItem;
    return deny('PC_ERR_VALIDATION', {
      errors: items,
      detail: `${items.length}${items.length >= max ? '+' : ''} violation(s) of the API schema.`,
      reason: `${first.pointer} ${first.reason}`,
    });
  }
  out.validatedPointers = pointers.size > 0 ? (pointers as Set<string>) : null;
  return undefined;
}
