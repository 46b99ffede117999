/** The loaded form of SecLang rules: what the loader builds and the interpreter runs. */
import type { CrsOperator, CrsTransformation } from './contract.js';
import type { MacroText } from './macro.js';

/** A selector regex (compiled through the operator registry's `@rx`, case-insensitive). */
export type KeyMatcher = (key: string) => boolean;

/** One variable of a rule: a whole collection, one member, members by regex, or their count. */
export interface RuleTarget {
  /** uppercase name (`ARGS`, `REQUEST_HEADERS`, `TX`, `REQUEST_URI`, ...) */
  readonly collection: string;
  /** lowercase member name, or null */
  readonly key: string | null;
  readonly keyRegex: KeyMatcher | null;
  /** the selector as written (`ARGS:/^id/` → '/^id/'), for matching exclusions and logs */
  readonly selector: string | null;
  readonly count: boolean;
  /** the rule's exclusions of this target's collection (set when loading ends) */
  exclusions: readonly TargetExclusion[];
}

/** `!ARGS:foo`: members left out of a collection. */
export interface TargetExclusion {
  readonly collection: string;
  readonly key: string | null;
  readonly keyRegex: KeyMatcher | null;
}

export interface RuleOperator {
  readonly name: string;
  readonly param: string;
  readonly negated: boolean;
  /** compiled once at load; null when the parameter holds macros (compiled at run time) */
  readonly compiled: CrsOperator | null;
  readonly paramMacro: MacroText;
  /** compiles the expanded parameter (a bounded cache keeps recent ones); may throw */
  readonly compile: (param: string) => CrsOperator;
}

export type SetVarOp = '=' | '+' | '-' | '!';

export interface SetVar {
  /** lowercase collection name: tx, ip, global, session, user, resource */
  readonly collection: string;
  readonly key: MacroText;
  readonly op: SetVarOp;
  readonly value: MacroText;
}

/** A `ctl:` action, kept by name with its value as written. */
export interface CtlAction {
  readonly name: string;
  readonly value: string;
  /** for ruleRemoveTarget*: the target */
  readonly target: TargetExclusion | null;
}

/** The actions that run when a rule (or chain link) matches a variable, in written order. */
export type Effect =
  | { readonly kind: 'setvar'; readonly setvar: SetVar }
  | { readonly kind: 'ctl'; readonly ctl: CtlAction }
  | { readonly kind: 'expirevar'; readonly collection: string; readonly key: MacroText; readonly seconds: MacroText }
  | { readonly kind: 'initcol'; readonly collection: string; readonly key: MacroText }
  | { readonly kind: 'setenv'; readonly name: MacroText; readonly value: MacroText };

export type Disruptive = 'pass' | 'block' | 'deny' | 'drop' | 'allow' | 'redirect';

export interface CrsRule {
  /** the id; 0 for a chain link and for markers */
  id: number;
  readonly file: string;
  readonly line: number;
  phase: number;
  /** SecMarker name, or null */
  readonly marker: string | null;
  targets: RuleTarget[];
  exclusions: TargetExclusion[];
  /** null for SecAction (always matches) */
  operator: RuleOperator | null;
  transformNames: string[];
  transforms: CrsTransformation[];
  /** the transformation chain's number (rules with the same chain share it), set when loading ends */
  transformId: number;
  effects: Effect[];
  disruptive: Disruptive | null;
  /** `block` resolves to this (the phase's SecDefaultAction at the rule's definition) */
  blockAs: Disruptive;
  /** allow: 'phase', 'request', or '' (the whole transaction) */
  allowScope: string;
  status: number | null;
  redirect: MacroText | null;
  skip: number;
  skipAfter: string | null;
  capture: boolean;
  multiMatch: boolean;
  log: boolean;
  auditlog: boolean;
  msg: MacroText | null;
  logdata: MacroText | null;
  tags: string[];
  severity: number | null;
  ver: string | null;
  rev: string | null;
  maturity: number | null;
  accuracy: number | null;
  /** the next link of a chain */
  chain: CrsRule | null;
}

export const SEVERITIES: readonly string[] = ['EMERGENCY', 'ALERT', 'CRITICAL', 'ERROR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG'];

/** A rule the loader could not honour exactly, with the reason: it does not run. */
export interface UnsupportedRule {
  readonly id: number | null;
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}
