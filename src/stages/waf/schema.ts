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
      engine: {
        enum: ['builtin', 'crs', 'both'],
        default: 'builtin',
        description:
          "Which rules inspect requests: `builtin` (Portcullis's API rule set), `crs` (the OWASP Core Rule Set v4 from `crs.path`, run by the gateway's SecLang engine: docs/waf-crs.md), or `both` (a request is blocked when either blocks). Why builtin: it blocks more of CRS's own regression suite at paranoia 1 with fewer false positives on JSON APIs, at a fraction of the cost; `crs` is for teams whose exclusions, audits and checklists are written against CRS.",
      },
      crs: {
        type: 'object',
        additionalProperties: false,
        default: {},
        description:
          "The OWASP CRS v4 installation run when `engine` is `crs` or `both`. Its paranoia level is `waf.paranoia` (routes cannot change it); its blocking is CRS's own anomaly scoring (rule 949110), in `waf.mode`.",
        properties: {
          path: {
            type: ['string', 'null'],
            default: null,
            description:
              'The CRS folder (holding `rules/` and `crs-setup.conf` or its `.example`), relative to the config file; null: the CRS v4.28.0 bundled with Portcullis (vendor/crs). Why bundled: `engine: crs` works with no download, at a release the engine is tested against.',
          },
          files: {
            type: 'array',
            items: { type: 'string', minLength: 1 },
            default: [],
            description:
              'SecLang files loaded with CRS: your REQUEST-900 / RESPONSE-999 exclusion files (placed where CRS places them) or any rules (SecRuleRemoveById, SecRuleUpdateTargetById, ctl exclusions), loaded after the rules otherwise. Relative to the config file.',
          },
          inbound_threshold: {
            type: 'integer',
            minimum: 1,
            default: 5,
            description: "CRS's inbound anomaly score threshold (tx.inbound_anomaly_score_threshold). Why 5: CRS's default, one critical match.",
          },
          outbound_threshold: {
            type: 'integer',
            minimum: 1,
            default: 4,
            description: "CRS's outbound anomaly score threshold (tx.outbound_anomaly_score_threshold). Why 4: CRS's default.",
          },
          inspect_responses: {
            type: 'boolean',
            default: false,
            description:
              "Run CRS's response phases (the RESPONSE-95x data-leakage and web-shell rules) on upstream responses: each response is buffered (up to the upstream's `max_response_bytes`) and inspected before it is sent; an outbound anomaly at the threshold is refused with 403 in enforce mode. Why off: buffering adds the whole response time to the first byte and holds each response in memory.",
          },
          detection_paranoia: {
            type: ['integer', 'null'],
            minimum: 1,
            maximum: 4,
            default: null,
            description:
              'Run the rules up to this paranoia level and log their matches without scoring them toward blocking (tx.detection_paranoia_level); null: the blocking level. For tuning a higher level before enforcing it.',
          },
        },
      },
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
