/**
 * The body step of the pipeline: the buffered bytes of a request are decoded (Content-Encoding,
 * when the route allows it) and read once (read.ts) with the route's limits. Every stage then
 * reads `ctx.bodyReading`; the upstream receives the bytes that reading came from.
 */
import type { Buffer } from 'node:buffer';
import { deny, type Deny } from '../core/decision.js';
import type { ErrorCode } from '../core/errors.js';
import type { BodyConfig, BodyOverride } from '../core/config.js';
import type { JsonSchema } from '../core/json-schema.js';
import { DEFAULT_MULTIPART_LIMITS } from './multipart.js';
import { decodeBody, isEncoded } from './encoding.js';
import { readBody, type BodyErrorCode, type BodyLimits } from './read.js';
import type { BodyReading, MediaType } from '../core/reading.js';

/** How one route reads bodies (compiled once per snapshot). */
export interface BodyPolicy {
  readonly limits: BodyLimits;
  readonly contentEncoding: 'refuse' | 'decode';
  readonly maxRatio: number;
  /** the route's body limit, which also bounds the decoded size */
  readonly maxBytes: number;
}

const int = (description: string, dflt: number | undefined, min: number): JsonSchema => ({
  type: 'integer',
  minimum: min,
  ...(dflt === undefined ? {} : { default: dflt }),
  description,
});

/** The schema of `limits.body` (with defaults) or of a route's `body` (without: unset keys inherit). */
export function bodySchema(withDefaults: boolean): JsonSchema {
  const d = <T>(v: T): T | undefined => (withDefaults ? v : undefined);
  return {
    type: 'object',
    additionalProperties: false,
    ...(withDefaults ? { default: {} } : {}),
    description: withDefaults
      ? 'How request bodies are read when a stage inspects them (validation, the WAF): one parser per body, chosen by its Content-Type, whose result every stage checks and whose bytes the upstream receives.'
      : "This route's overrides of `limits.body`.",
    properties: {
      content_encoding: {
        enum: ['refuse', 'decode'],
        ...(withDefaults ? { default: 'refuse' } : {}),
        description:
          'A compressed request body (Content-Encoding gzip, deflate or br) on a route that inspects bodies: `refuse` answers 415 PC_ERR_CONTENT_ENCODING; `decode` inflates it within the body limit and `max_decompression_ratio`, inspects the result and forwards it decoded. Why refuse by default: it costs nothing and no decompression bomb reaches the gateway; clients rarely compress requests.',
      },
      max_decompression_ratio: int(
        'Largest ratio of decoded to encoded size when decoding (413 above). Why: bounds the memory a small compressed body can claim.',
        d(100),
        1,
      ),
      json: {
        type: 'object',
        additionalProperties: false,
        ...(withDefaults ? { default: {} } : {}),
        description:
          "Structural limits on JSON (and NDJSON lines), checked before parsing. Why: bounds CPU and memory per request whatever the schema says. A route's `validate.json` sets them too.",
        properties: {
          max_depth: int('Deepest nesting of objects and arrays. Why: deep nesting exhausts parsers and stacks; real APIs rarely exceed 10.', d(32), 1),
          max_keys: int('Most keys in one object. Why: bounds hash-flooding and validation work.', d(1000), 1),
          max_array_length: int('Most elements in one array (and lines in NDJSON).', d(10000), 1),
          max_string_length: int('Longest string (encoded bytes), keys included.', d(65536), 1),
        },
      },
      max_form_params: int("Most fields in an urlencoded body. A route's `validate.max_form_params` sets it too.", d(256), 1),
      max_parts: int('Most parts in a multipart body.', d(64), 1),
    },
  };
}

/** Merges `limits.body`, the route's `validate` limits and its `body` (later wins). */
export function compileBodyPolicy(
  global: BodyConfig,
  route: BodyOverride | undefined,
  validate: { json?: Partial<BodyConfig['json']>; max_form_params?: number } | undefined,
  maxBytes: number,
): BodyPolicy {
  const json = { ...global.json, ...(validate?.json ?? {}), ...(route?.json ?? {}) };
  const formParams = route?.max_form_params ?? validate?.max_form_params ?? global.max_form_params;
  return {
    limits: {
      json: { maxBytes, maxDepth: json.max_depth, maxKeys: json.max_keys, maxArrayLength: json.max_array_length, maxStringLength: json.max_string_length },
      form: { maxParams: formParams, maxValueLength: json.max_string_length },
      multipart: { ...DEFAULT_MULTIPART_LIMITS, maxParts: route?.max_parts ?? global.max_parts, maxPartBytes: maxBytes },
    },
    contentEncoding: route?.content_encoding ?? global.content_encoding,
    maxRatio: route?.max_decompression_ratio ?? global.max_decompression_ratio,
    maxBytes,
  };
}

const CODES: Record<BodyErrorCode, ErrorCode> = {
  too_large: 'PC_ERR_BODY_TOO_LARGE',
  malformed: 'PC_ERR_BODY_MALFORMED',
  duplicate_key: 'PC_ERR_BODY_MALFORMED',
  too_deep: 'PC_ERR_BODY_LIMITS',
  too_many_keys: 'PC_ERR_BODY_LIMITS',
  array_too_long: 'PC_ERR_BODY_LIMITS',
  string_too_long: 'PC_ERR_BODY_LIMITS',
  forbidden_key: 'PC_ERR_BODY_FORBIDDEN_KEY',
  too_many_params: 'PC_ERR_BODY_LIMITS',
  too_many_parts: 'PC_ERR_BODY_LIMITS',
  too_long: 'PC_ERR_BODY_LIMITS',
};

const EMPTY: BodyReading = Object.freeze({ kind: 'other' });

/** The body as every stage reads it, or the refusal that stands for it. */
export type BodyStep =
  | { readonly ok: true; readonly body: Buffer; readonly decoded: boolean; readonly reading: BodyReading }
  | { readonly ok: false; readonly deny: Deny };

function read(body: Buffer, decoded: boolean, media: MediaType | null, policy: BodyPolicy): BodyStep {
  const r = readBody(body, media, policy.limits);
  if (!r.ok) return { ok: false, deny: deny(CODES[r.code], { reason: r.reason }) };
  return { ok: true, body, decoded, reading: r.reading };
}

/**
 * Decodes (when allowed) and reads a buffered body. Synchronous unless it must be decoded.
 * `contentEncoding`: the request's Content-Encoding header.
 */
export function stepBody(raw: Buffer, contentEncoding: string | undefined, media: MediaType | null, policy: BodyPolicy): BodyStep | Promise<BodyStep> {
  // an empty body (chunked with no data) is no body: stages see none, whatever its headers say
  if (raw.length === 0) return { ok: true, body: raw, decoded: false, reading: EMPTY };
  if (!isEncoded(contentEncoding)) return read(raw, false, media, policy);
  if (policy.contentEncoding === 'refuse') {
    return {
      ok: false,
      deny: deny('PC_ERR_CONTENT_ENCODING', {
        detail: 'Send the body without Content-Encoding.',
        reason: `content-encoding ${String(contentEncoding).slice(0, 40)}`,
      }),
    };
  }
  return decodeBody(raw, contentEncoding as string, { maxBytes: policy.maxBytes, maxRatio: policy.maxRatio }).then((d): BodyStep => {
    if (!d.ok) {
      const code: ErrorCode = d.code === 'unsupported' ? 'PC_ERR_CONTENT_ENCODING' : d.code === 'too_large' ? 'PC_ERR_BODY_TOO_LARGE' : 'PC_ERR_BODY_MALFORMED';
      return { ok: false, deny: deny(code, { reason: d.reason }) };
    }
    return read(d.body, d.decoded, media, policy);
  });
}
