/**
 * Request validation of one operation: parameters (path, query, headers, cookies), content type,
 * safe body parsing and the body schema. Synchronous; everything it runs was compiled before
 * the first request. Writes the parsed body and the validated pointers to `out`.
 */
import { Buffer } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import { deny, type Deny, type ProblemItem } from '../../core/decision.js';
import type { ErrorCode } from '../../core/errors.js';
import { parseJsonSafe, type JsonErrorCode, type JsonLimits } from '../../body/json.js';
import { parsePairs, parseUrlEncoded, type FormLimits } from '../../body/form.js';
import { boundaryOf, parseMultipart, type MultipartLimits } from '../../body/multipart.js';
import { charsetOf, mediaTypeOf, parseText } from '../../body/media.js';
import { deserialiseSimple, parseCookies, queryValues } from '../../openapi/params.js';
import type { CompiledMedia, CompiledOperation, ParamGroup } from './compile.js';
import { appendAjvErrors } from './problems.js';
import { expandPlan } from './pointers.js';

export interface RequestSettings {
  readonly maxErrors: number;
  readonly json: JsonLimits;
  readonly form: FormLimits;
  readonly multipart: MultipartLimits;
  /** refuse query parameters the operation does not declare */
  readonly rejectUnknownQuery?: boolean;
}

export interface RequestInput {
  readonly params: Readonly<Record<string, string>>;
  /** raw query string without '?' */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  /** the buffered body, null when none was read */
  readonly body: Buffer | null;
  /** the request announced a body (Content-Length > 0 or Transfer-Encoding) */
  readonly hasBody: boolean;
}

export interface RequestSink {
  parsedBody: unknown;
  validatedPointers: Set<string> | null;
}

const JSON_CODES: Record<JsonErrorCode, ErrorCode> = {
  too_large: 'PC_ERR_BODY_TOO_LARGE',
  malformed: 'PC_ERR_BODY_MALFORMED',
  duplicate_key: 'PC_ERR_BODY_MALFORMED',
  too_deep: 'PC_ERR_BODY_LIMITS',
  too_many_keys: 'PC_ERR_BODY_LIMITS',
  array_too_long: 'PC_ERR_BODY_LIMITS',
  string_too_long: 'PC_ERR_BODY_LIMITS',
  forbidden_key: 'PC_ERR_BODY_FORBIDDEN_KEY',
};

const FORM_CODES: Record<string, ErrorCode> = {
  too_many_params: 'PC_ERR_BODY_LIMITS',
  too_many_parts: 'PC_ERR_BODY_LIMITS',
  too_long: 'PC_ERR_BODY_LIMITS',
  malformed: 'PC_ERR_BODY_MALFORMED',
  forbidden_key: 'PC_ERR_BODY_FORBIDDEN_KEY',
};

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
  const strictQuery = settings.rejectUnknownQuery === true && input.query !== '';
  if (op.query !== null || strictQuery) {
    const r = parsePairs(input.query, { maxParams: 1024, maxValueLength: 65536 });
    if (!r.ok) return deny('PC_ERR_VALIDATION', { errors: [{ pointer: '/query', reason: r.reason }], reason: `query: ${r.reason}` });
    if (op.query !== null) validateGroup(op.query, queryValues(r.pairs, op.query.specs), '/query', items, max);
    if (strictQuery) {
      for (const [name] of r.pairs) {
        if (items.length >= max) break;
        if (!isDeclaredQuery(op, name)) items.push({ pointer: `/query/${name.replace(/~/g, '~0').replace(/\//g, '~1').slice(0, 100)}`, reason: 'is not a declared parameter' });
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
  const bodyBytes = input.body === null ? 0 : input.body.length;
  if (body === null) {
    // the body of an operation without requestBody is not read (input.body is null): the announcement is enough
    if (input.hasBody && (input.body === null || bodyBytes !== 0)) {
      return deny('PC_ERR_UNSUPPORTED_MEDIA_TYPE', { detail: 'This operation takes no request body.', reason: 'body on an operation without requestBody' });
    }
  } else if (bodyBytes === 0) {
    if (body.required) return deny('PC_ERR_BODY_REQUIRED', { reason: 'required body missing' });
  } else {
    const ct = single(input.headers['content-type']);
    const mt = mediaTypeOf(ct);
    const media = mt === '' ? null : matchMedia(body.media, mt);
    if (media === null) {
      return deny('PC_ERR_UNSUPPORTED_MEDIA_TYPE', {
        detail: `Accepted content types: ${body.media.map((m) => m.mediaType).join(', ')}.`.slice(0, 300),
        reason: mt === '' ? 'missing or invalid content-type' : `undeclared content-type ${mt.slice(0, 80)}`,
      });
    }
    const charset = charsetOf(ct);
    if (charset !== null && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii' && media.kind !== 'other') {
      return deny('PC_ERR_UNSUPPORTED_MEDIA_TYPE', { detail: 'Only UTF-8 bodies are accepted.', reason: `charset ${charset.slice(0, 40)}` });
    }
    const buf = input.body ?? Buffer.alloc(0);
    let value: unknown;
    switch (media.kind) {
      case 'json': {
        const r = parseJsonSafe(buf, settings.json);
        if (!r.ok) return deny(JSON_CODES[r.code], { reason: r.reason });
        value = r.value;
        break;
      }
      case 'form': {
        const r = parseUrlEncoded(buf, settings.form);
        if (!r.ok) return deny(FORM_CODES[r.code] ?? 'PC_ERR_BODY_MALFORMED', { reason: r.reason });
        value = r.value;
        break;
      }
      case 'multipart': {
        const boundary = boundaryOf(ct ?? '');
        if (boundary === null) return deny('PC_ERR_BODY_MALFORMED', { reason: 'multipart without a valid boundary' });
        const r = parseMultipart(buf, boundary, settings.multipart);
        if (!r.ok) return deny(FORM_CODES[r.code] ?? 'PC_ERR_BODY_MALFORMED', { reason: r.reason });
        value = r.value;
        break;
      }
      case 'text': {
        const r = parseText(buf);
        if (!r.ok) return deny('PC_ERR_BODY_MALFORMED', { reason: r.reason });
        value = r.value;
        break;
      }
      default:
        value = buf;
    }
    if (media.validate !== null && media.kind !== 'other' && !media.validate(value)) {
      appendAjvErrors(items, media.validate.errors, '/body', max);
      if (items.length === 0) items.push({ pointer: '/body', reason: 'does not match the schema' });
    }
    out.parsedBody = value;
    if (items.length === 0) pointers = expandPlan(media.pointers, value, '/body');
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
