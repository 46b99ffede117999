/**
 * Config schema of the WAF stage: the top-level `waf` key (defaults for every route) and the route
 * key `waf` (overrides, or `off`).
 */
import type { JsonSchema } from '../../core/json-schema.js';

function exclusionSchema(withRoutes: boolean): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    description:
      'Skips rules (by id or tag) for some targets. All given conditions must hold; a missing list means "any". Example: `{ tags: [attack-sqli], targets: [json:/description] }`.',
    properties: {
      rules: { type: 'array', items: { type: 'string' }, description: 'Rule ids (see `portcullis waf test` and docs/waf.md), e.g. `sqli-100`.' },
      tags: { type: 'array', items: { type: 'string' }, description: 'Rule tags, e.g. `attack-sqli`, `attack-xss`, `attack-rce`.' },
      targets: {
        type: 'array',
        items: { type: 'string', pattern: '^[a-z_.]+(?::.*)?$' },
        description:
          'Target selectors: a kind (`json`, `query`, `form`, `header`, `cookie`, `path`, `uri`, `body`, `args`, ...) or `kind:name` (`json:/ticket/body` covers that JSON subtree, `query:q`, `header:user-agent`).',
      },
      ...(withRoutes
        ? { routes: { type: 'array', items: { type: 'string' }, description: 'Route ids this exclusion applies to (all routes when absent).' } }
        : {}),
    },
  };
}

function settings(withDefaults: boolean): Record<string, JsonSchema> {
  const d = <T>(v: T): { default?: T } => (withDefaults ? { default: v } : {});
  return {
    mode: {
      enum: ['enforce', 'monitor', 'off'],
      ...d('enforce'),
      description:
        '`enforce`: a request whose anomaly score reaches `threshold` gets 403 PC_ERR_WAF_BLOCKED; `monitor`: matches are logged and counted, the request passes; `off`: no inspection.',
    },
    paranoia: {
      type: 'integer',
      minimum: 1,
      maximum: 4,
      ...d(1),
      description:
        'Paranoia level 1-4: higher levels add rules that catch more obfuscated attacks and block more legitimate traffic. Why 1: the built-in level-1 rules block more of the OWASP CRS regression suite than CRS at level 1 and fewer legitimate API requests (docs/waf.md).',
    },
    threshold: {
      type: 'integer',
      minimum: 1,
      ...d(5),
      description:
        'Anomaly score at which a request is blocked. Rules score critical 5, error 4, warning 3, notice 2 (each rule once per request). Why 5: one critical match, or a warning plus a notice, blocks.',
    },
    exclusions: { type: 'array', items: exclusionSchema(withDefaults), ...d([]), description: 'Rule exclusions (false-positive tuning).' },
    disabled_rules: { type: 'array', items: { type: 'string' }, ...d([]), description: 'Rule ids switched off entirely.' },
  };
}

export function wafGlobalSchema(): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    default: {},
    description:
      'Web application firewall: built-in rules over the parsed request (path, query, headers, cookies, JSON, form, XML), anomaly scoring. Routes inherit these settings and may override them with their own `waf` key.',
    properties: {
      ...settings(true),
      max_inspected_bytes: {
        type: 'integer',
        minimum: 1024,
        default: 1048576,
        description:
          'Most characters of request data (URI, headers, body fields) inspected per request. Why 1 MiB: the default body limit, so that every accepted request is inspected in full.',
      },
      max_json_depth: {
        type: 'integer',
        minimum: 1,
        default: 64,
        description: 'Deepest JSON nesting inspected. Why: bounds work; deeper documents count as exceeding the inspection limit.',
      },
      on_limit: {
        enum: ['block', 'allow'],
        default: 'block',
        description:
          'What happens to a request with more data than the inspection limits allow: `block` (fail closed: padding cannot hide an attack) or `allow` (inspect what fits, annotate the log).',
      },
    },
  };
}

export function wafRouteSchema(): JsonSchema {
  return {
    description:
      'WAF settings for this route: `off`, or overrides of the top-level `waf` settings (mode, paranoia, threshold; exclusions and disabled_rules are added to the global ones).',
    oneOf: [
      { const: 'off', description: 'No WAF inspection on this route.' },
      { type: 'object', additionalProperties: false, description: 'Overrides for this route.', properties: settings(false) },
    ],
  };
}
