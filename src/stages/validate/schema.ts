/**
 * Config schema of the validation stage: the top-level `apis` list (OpenAPI documents that
 * become routes) and the route key `validate` (request/response validation and per-route limits).
 */
import type { JsonSchema } from '../../core/json-schema.js';

const int = (description: string, dflt: number, min = 0): JsonSchema => ({ type: 'integer', minimum: min, default: dflt, description });
const optInt = (description: string, min = 0): JsonSchema => ({ type: 'integer', minimum: min, description });

/** Settings of the `validate` route key (also the shape of `apis[].validate` and overrides). */
export function validateSettingsProperties(): Record<string, JsonSchema> {
  return {
    mode: {
      enum: ['enforce', 'monitor', 'off'],
      default: 'enforce',
      description:
        'Request validation: `enforce` refuses invalid requests (400/415) before the upstream; `monitor` logs and counts them and lets them through; `off` skips it.',
    },
    response: {
      enum: ['off', 'monitor', 'enforce', 'filter'],
      default: 'off',
      description:
        "Response validation against the operation's response schema for the status code and content type: `monitor` logs and counts violations; `enforce` replaces an invalid response with 502 PC_ERR_RESPONSE_INVALID; `filter` removes properties the schema does not declare (nested too; OWASP API3:2023 excessive data exposure), then enforces. Responses without a matching schema pass unchanged. Buffers the response (up to the upstream's `max_response_bytes`).",
    },
    max_errors: int('Most violations listed in a 400 reply (each a JSON pointer and a reason; input values are never echoed).', 10, 1),
    json: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'Structural limits on JSON request bodies, checked before parsing. Why: bounds CPU and memory per request whatever the schema says.',
      properties: {
        max_depth: int('Deepest nesting of objects and arrays. Why: deep nesting exhausts parsers and stacks; real APIs rarely exceed 10.', 32, 1),
        max_keys: int('Most keys in one object. Why: bounds hash-flooding and validation work.', 1000, 1),
        max_array_length: int('Most elements in one array.', 10000, 1),
        max_string_length: int('Longest string (encoded bytes), keys included.', 65536, 1),
      },
    },
    max_header_bytes: optInt("Largest request header block on this route (431 above). Defaults to the listener's limit.", 64),
    max_url_bytes: optInt("Longest request target on this route (414 above). Defaults to the listener's limit.", 16),
    max_query_params: optInt('Most query parameters on this route (400 PC_ERR_TOO_MANY_PARAMETERS above). Defaults to `limits.max_query_params`.', 0),
    max_form_params: int('Most fields in an urlencoded or multipart body.', 256, 1),
    unknown_query: {
      enum: ['allow', 'reject'],
      default: 'allow',
      description:
        'Query parameters the operation does not declare: `allow` (OpenAPI semantics: they pass unchecked) or `reject` (400; the strictest API inventory, but clients adding cache-busters break).',
    },
  };
}

export function validateRouteSchema(): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    description:
      'Request and response validation for this route. Routes generated from `apis` get `api` and `operation` set; on a hand-written route only the limits apply.',
    properties: {
      api: { type: 'string', description: 'Id of the API in `apis` whose operation this route serves (set by route generation).' },
      operation: { type: 'string', description: 'Operation key within the API: operationId, or `METHOD /path` (set by route generation).' },
      ...validateSettingsProperties(),
    },
  };
}

const OVERRIDE_DESC =
  "Route keys merged onto the generated route of one operation (`auth`, `authorize`, `limits`, `waf`, `validate`, `max_body_bytes`, ...); they win over the spec's `x-portcullis-*` extensions. `validate` is merged key by key; other keys are replaced.";

export function apisSchema(): JsonSchema {
  return {
    type: 'array',
    default: [],
    description:
      "APIs described by OpenAPI 3.0/3.1 documents. Every operation becomes a route (path template + method) with request validation and, from the document's `security`, authentication; undeclared operations get 404/405.",
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'spec', 'upstream'],
      properties: {
        id: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: 'API id; generated route ids are `<id>.<operationId>`.' },
        spec: {
          type: 'string',
          description:
            'Path of the OpenAPI document (YAML or JSON), relative to this config file. Local and relative-file `$ref`s are resolved; remote ones are refused.',
        },
        upstream: { type: 'string', description: 'Name of the upstream in `upstreams` that serves this API.' },
        base_path: {
          type: 'string',
          pattern: '^(/[^/?#]+)*/?$',
          description: "Prefix of every operation path at the gateway. Defaults to the path of the document's first `servers` URL (e.g. `/api`), else none.",
        },
        strip_base_path: {
          type: 'boolean',
          default: false,
          description: 'Remove `base_path` before forwarding (when the upstream serves the paths without it).',
        },
        hosts: {
          type: 'array',
          items: { type: 'string' },
          description: 'Host names the generated routes match (exact or `*.example.com`). Any host when absent.',
        },
        auth_provider: {
          type: 'string',
          description:
            "JWT provider used for `http` bearer, `oauth2` and `openIdConnect` schemes that do not name one with `x-portcullis-provider`. When absent the auth stage's default provider applies.",
        },
        validate: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Validation settings for every operation of this API (see the `validate` route key).',
          properties: validateSettingsProperties(),
        },
        defaults: {
          type: 'object',
          default: {},
          description:
            "Route keys applied to every generated route (e.g. `limits`, `waf`); the spec's `x-portcullis-*` extensions and `overrides` win over them.",
        },
        overrides: {
          type: 'object',
          default: {},
          description: `Per-operation overrides, keyed by operationId or \`METHOD /path\`. ${OVERRIDE_DESC}`,
          additionalProperties: { type: 'object', description: OVERRIDE_DESC },
        },
      },
    },
  };
}
