/** WAF engine types: request targets, rules, policies and results. */
import type { OperatorDef } from './operators/index.js';
import type { BodyReading, Pair } from '../core/reading.js';

/**
 * What a rule inspects. `*_name` kinds are names (query parameter names, JSON keys, ...); the
 * others are values. `path_segment` is one decoded path segment; `uri` the request target as
 * received; `body` the raw body of a content type that is not parsed (text, XML, unknown).
 */
export const TARGET_KINDS = [
  'method',
  'uri',
  'path',
  'path_segment',
  'query_name',
  'query',
  'header_name',
  'header',
  'cookie_name',
  'cookie',
  'json_key',
  'json',
  'form_name',
  'form',
  'xml',
  'body',
  'content_type',
  'file_name',
] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface Target {
  readonly kind: TargetKind;
  /** header name, parameter name, JSON pointer ('/items/0/text'), ...; '' when the kind has one value */
  readonly name: string;
  readonly value: string;
  /** schema pointer ('/query/limit', '/path/id') for schema awareness, or null; JSON values use
   * '/body' + name (built only when the request has validated pointers) */
  readonly pointer: string | null;
}

export type Severity = 'critical' | 'error' | 'warning' | 'notice';
export const SEVERITY_SCORE: Readonly<Record<Severity, number>> = { critical: 5, error: 4, warning: 3, notice: 2 };

export interface RuleDef {
  /** stable id, e.g. 'sqli-100'; used in logs, exclusions and `waf test` */
  readonly id: string;
  readonly description: string;
  /** e.g. ['attack-sqli'] */
  readonly tags: readonly string[];
  /** the rule runs when the policy's paranoia level is at least this (1..4) */
  readonly paranoia: 1 | 2 | 3 | 4;
  readonly severity: Severity;
  readonly targets: readonly TargetKind[];
  /** only targets whose name matches this regex (case-insensitive), e.g. parameter names */
  readonly names?: string;
  /** for `header`/`header_name` targets: only these header names (lowercase) */
  readonly headers?: readonly string[];
  /** transformation chain applied to the value before the operator */
  readonly transforms: readonly string[];
  readonly operator: OperatorDef;
  /**
   * Cheap prefilter: lowercase substrings of which the transformed value must contain at least one
   * for the operator to run (shared Aho-Corasick scan per chain). Omit to always run.
   */
  readonly literals?: readonly string[];
  /** injection rules are skipped for values that passed a constrained schema type (default true) */
  readonly injection?: boolean;
}

export interface Exclusion {
  /** rule ids to exclude (none given: every rule matching `tags`, or every rule) */
  readonly rules?: readonly string[];
  readonly tags?: readonly string[];
  /**
   * target selectors: a kind ('json', 'query', 'header', 'cookie', ... also 'args' and 'json.body'),
   * or kind:name ('json:/description' covers the subtree, 'query:q', 'header:user-agent').
   * None given: every target.
   */
  readonly targets?: readonly string[];
}

export interface Policy {
  readonly paranoia: 1 | 2 | 3 | 4;
  /** a request is blocked when its anomaly score reaches this */
  readonly threshold: number;
  readonly exclusions: readonly Exclusion[];
  /** stop evaluating once the threshold is reached (the stage sets this in enforce mode) */
  readonly stopAtThreshold?: boolean;
}

export interface RuleMatch {
  readonly ruleId: string;
  readonly tags: readonly string[];
  readonly severity: Severity;
  readonly score: number;
  /** 'json:/comment', 'query:q', 'header:user-agent', 'path', ... */
  readonly target: string;
  readonly transforms: readonly string[];
  /** the matched fragment, truncated; '[redacted]' for secret-bearing targets */
  readonly matched: string;
  readonly description: string;
}

export interface Evaluation {
  readonly score: number;
  readonly blocked: boolean;
  readonly matches: readonly RuleMatch[];
  /** the inspection budget ran out before every target was inspected */
  readonly truncated: boolean;
  /** values skipped thanks to schema validation */
  readonly skippedValidated: number;
}

/** A request as the WAF sees it (built from the RequestContext, or from `waf test` flags). */

export interface WafRequest {
  readonly method: string;
  /** request target as received (path and query, undecoded) */
  readonly rawUrl: string;
  /** normalised path (may keep percent-encoding of reserved characters) */
  readonly path: string;
  /** raw query string without '?' */
  readonly query: string;
  /** the query as the gateway read it (decoded pairs); read from `query` when absent */
  readonly queryPairs?: readonly Pair[];
  /** lowercase header names */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** the body's bytes (decoded from any Content-Encoding) */
  readonly body: Buffer | null;
  /** the body as the gateway read it (body/read.ts); read from `body` and its Content-Type when absent */
  readonly reading?: BodyReading | null;
  /** JSON pointers ('/body/age', '/query/limit') of values that passed a constrained schema type */
  readonly validatedPointers?: ReadonlySet<string> | null;
  /** route path parameters, to name path segments '/path/<name>' */
  readonly params?: Readonly<Record<string, string>>;
}

export interface Limits {
  /** total characters of target values inspected per request */
  readonly maxInspectedBytes: number;
  /** deepest JSON nesting inspected */
  readonly maxJsonDepth: number;
  /** most targets inspected per request */
  readonly maxTargets: number;
}

export const DEFAULT_LIMITS: Limits = { maxInspectedBytes: 1048576, maxJsonDepth: 64, maxTargets: 10000 };
