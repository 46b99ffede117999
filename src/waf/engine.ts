/**
 * The WAF engine: rules compiled once (`compileRules`), then `evaluate(request, policy)` runs them
 * over the request's targets, synchronously, and returns the anomaly score and the matches.
 *
 * Work per request is bounded and mostly linear: targets are bounded (parser/targets.ts); each
 * transformation chain runs at most once per target value (shared by every rule using it); one
 * Aho-Corasick scan per chain finds the candidate rules (their literal prefilters and phrase sets);
 * only candidates run their operator.
 */
import { AhoCorasick } from './operators/aho-corasick.js';
import { atWordBoundary, compileOperator, type CompiledOperator } from './operators/index.js';
import { compileChain, type Transformation } from './transformations/index.js';
import { extractTargets } from './parser/targets.js';
import {
  DEFAULT_LIMITS, SEVERITY_SCORE, TARGET_KINDS,
  type Evaluation, type Exclusion, type Limits, type Policy, type RuleDef, type RuleMatch, type Target, type TargetKind, type WafRequest,
} from './types.js';

interface CompiledRule {
  readonly def: RuleDef;
  readonly index: number;
  readonly op: CompiledOperator;
  readonly kinds: number;
  readonly headers: ReadonlySet<string> | null;
  readonly names: RegExp | null;
  readonly score: number;
  readonly injection: boolean;
  readonly chain: number;
  /** a phrase rule whose phrases are in the chain's automaton: a hit there is the match */
  readonly sharedPhrase: boolean;
}

interface Trigger {
  readonly rule: number;
  /** phrase rules: the hit is the match (checked for word boundaries when needed) */
  readonly phrase: boolean;
  readonly wordBoundary: boolean;
  readonly length: number;
}

interface CompiledChain {
  readonly names: readonly string[];
  readonly fn: Transformation;
  readonly ac: AhoCorasick | null;
  /** pattern id -> triggers */
  readonly triggers: readonly (readonly Trigger[])[];
  /** rules without prefilter, by rule index */
  readonly always: readonly number[];
  /** bitmask of target kinds with at least one rule on this chain */
  readonly kinds: number;
}

export interface CompiledRules {
  readonly rules: readonly CompiledRule[];
  readonly chains: readonly CompiledChain[];
  readonly byId: ReadonlyMap<string, CompiledRule>;
  readonly limits: Limits;
}

const KIND_BIT: Readonly<Record<TargetKind, number>> = Object.fromEntries(TARGET_KINDS.map((k, i) => [k, 1 << i])) as Record<TargetKind, number>;

/** Compiles a rule set (throws on an unknown transformation, operator, or an unsafe regex). */
export function compileRules(defs: readonly RuleDef[], limits: Limits = DEFAULT_LIMITS): CompiledRules {
  const ids = new Set<string>();
  const chainKeys = new Map<string, number>();
  const chainDefs: { names: readonly string[]; rules: number[] }[] = [];
  const rules: CompiledRule[] = defs.map((def, index) => {
    if (ids.has(def.id)) throw new Error(`duplicate rule id '${def.id}'`);
    ids.add(def.id);
    const key = def.transforms.join(',');
    let chain = chainKeys.get(key);
    if (chain === undefined) {
      chain = chainDefs.length;
      chainKeys.set(key, chain);
      chainDefs.push({ names: def.transforms, rules: [] });
    }
    chainDefs[chain]!.rules.push(index);
    let op: CompiledOperator;
    try {
      op = compileOperator(def.operator);
    } catch (e) {
      throw new Error(`rule ${def.id}: ${(e as Error).message}`);
    }
    let kinds = 0;
    for (const k of def.targets) kinds |= KIND_BIT[k];
    return {
      def,
      index,
      op,
      kinds,
      headers: def.headers ? new Set(def.headers.map((h) => h.toLowerCase())) : null,
      names: def.names !== undefined ? new RegExp(def.names, 'i') : null,
      score: SEVERITY_SCORE[def.severity],
      injection: def.injection !== false,
      chain,
      sharedPhrase: op.phrases !== undefined && def.literals === undefined,
    };
  });
  const chains: CompiledChain[] = chainDefs.map(({ names, rules: idx }) => {
    const patterns: string[] = [];
    const patternIds = new Map<string, number>();
    const triggers: Trigger[][] = [];
    const always: number[] = [];
    let kinds = 0;
    const addPattern = (p: string, t: Trigger): void => {
      let id = patternIds.get(p);
      if (id === undefined) {
        id = patterns.length;
        patternIds.set(p, id);
        patterns.push(p);
        triggers.push([]);
      }
      triggers[id]!.push(t);
    };
    for (const i of idx) {
      const r = rules[i]!;
      kinds |= r.kinds;
      if (r.def.literals !== undefined) {
        for (const l of r.def.literals) addPattern(l.toLowerCase(), { rule: i, phrase: false, wordBoundary: false, length: l.length });
      } else if (r.sharedPhrase) {
        for (const p of r.op.phrases!) addPattern(p, { rule: i, phrase: true, wordBoundary: r.op.wordBoundary === true, length: p.length });
      } else always.push(i);
    }
    return {
      names,
      fn: compileChain(names),
      ac: patterns.length > 0 ? new AhoCorasick(patterns) : null,
      triggers,
      always,
      kinds,
    };
  });
  return { rules, chains, byId: new Map(rules.map((r) => [r.def.id, r])), limits };
}

// ---- exclusions ------------------------------------------------------------------------------

interface CompiledExclusion {
  readonly rules: ReadonlySet<string> | null;
  readonly tags: ReadonlySet<string> | null;
  readonly selectors: readonly { kinds: number; name: string | null }[] | null;
}

const FAMILY: Readonly<Record<string, readonly TargetKind[]>> = {
  args: ['query', 'query_name', 'form', 'form_name', 'json', 'json_key', 'xml'],
  'json.body': ['json', 'json_key'],
  json: ['json', 'json_key'],
  query: ['query', 'query_name'],
  form: ['form', 'form_name', 'file_name'],
  header: ['header', 'header_name'],
  headers: ['header', 'header_name'],
  cookie: ['cookie', 'cookie_name'],
  cookies: ['cookie', 'cookie_name'],
  path: ['path', 'path_segment'],
};

/** Parses a target selector ('json', 'json:/a/b', 'query:q', 'header:user-agent'); throws when unknown. */
export function parseSelector(sel: string): { kinds: number; name: string | null } {
  const colon = sel.indexOf(':');
  const fam = colon < 0 ? sel : sel.slice(0, colon);
  const name = colon < 0 ? null : sel.slice(colon + 1);
  const list = FAMILY[fam] ?? ((TARGET_KINDS as readonly string[]).includes(fam) ? [fam as TargetKind] : null);
  if (list === null) throw new Error(`unknown WAF target selector '${sel}'`);
  let kinds = 0;
  for (const k of list) kinds |= KIND_BIT[k];
  return { kinds, name: name === null ? null : fam.startsWith('header') ? name.toLowerCase() : name };
}

export function compileExclusions(list: readonly Exclusion[]): readonly CompiledExclusion[] {
  return list.map((e) => ({
    rules: e.rules && e.rules.length > 0 ? new Set(e.rules) : null,
    tags: e.tags && e.tags.length > 0 ? new Set(e.tags) : null,
    selectors: e.targets && e.targets.length > 0 ? e.targets.map(parseSelector) : null,
  }));
}

function excluded(ex: readonly CompiledExclusion[], r: CompiledRule, t: Target): boolean {
  for (const e of ex) {
    if (e.rules !== null || e.tags !== null) {
      let hit = e.rules !== null && e.rules.has(r.def.id);
      if (!hit && e.tags !== null) for (const tag of r.def.tags) if (e.tags.has(tag)) hit = true;
      if (!hit) continue;
    }
    if (e.selectors === null) return true;
    for (const s of e.selectors) {
      if ((s.kinds & KIND_BIT[t.kind]) === 0) continue;
      if (s.name === null || s.name === t.name || (t.kind.startsWith('json') && t.name.startsWith(`${s.name}/`))) return true;
    }
  }
  return false;
}

// ---- evaluation ------------------------------------------------------------------------------

const SECRET_TARGETS = /^(?:cookie|header:(?:authorization|proxy-authorization|cookie|x-api-key))/;
const MAX_MATCHES = 32;
const MAX_FRAGMENT = 80;

function targetName(t: Target): string {
  return t.name === '' ? t.kind : `${t.kind}:${t.name}`;
}

function fragment(t: Target, name: string, m: string): string {
  if (t.kind === 'cookie' || SECRET_TARGETS.test(name)) return '[redacted]';
  return m.length > MAX_FRAGMENT ? `${m.slice(0, MAX_FRAGMENT)}...` : m;
}

export interface EvaluateOptions {
  /** compiled exclusions of the policy (compile once per route with compileExclusions) */
  readonly exclusions?: readonly CompiledExclusion[];
  /** keep evaluating after a rule already matched on another target (for `waf test`) */
  readonly allMatches?: boolean;
}

/** Evaluates one request. Pure and synchronous. */
export function evaluate(req: WafRequest, compiled: CompiledRules, policy: Policy, opts: EvaluateOptions = {}): Evaluation {
  const sink = extractTargets(req, compiled.limits);
  return evaluateTargets(sink.targets, sink.truncated, req.validatedPointers ?? null, compiled, policy, opts);
}

export function evaluateTargets(
  targets: readonly Target[],
  truncated: boolean,
  validated: ReadonlySet<string> | null,
  compiled: CompiledRules,
  policy: Policy,
  opts: EvaluateOptions = {},
): Evaluation {
  const ex = opts.exclusions ?? (policy.exclusions.length > 0 ? compileExclusions(policy.exclusions) : []);
  const all = opts.allMatches === true;
  const { rules, chains } = compiled;
  const fired = new Uint8Array(rules.length);
  const seen = new Uint8Array(rules.length);
  const candidates: number[] = [];
  const matches: RuleMatch[] = [];
  let score = 0;
  let skippedValidated = 0;
  const stop = policy.stopAtThreshold === true && !all;
  const paranoia = policy.paranoia;

  for (const t of targets) {
    const bit = KIND_BIT[t.kind];
    const isValidated = validated !== null && t.pointer !== null && validated.has(t.pointer);
    if (isValidated) skippedValidated++;
    for (const chain of chains) {
      if ((chain.kinds & bit) === 0) continue;
      const v = chain.fn(t.value);
      if (v.length === 0) continue;
      candidates.length = 0;
      const hits: (string | null)[] = [];
      if (chain.ac !== null) {
        chain.ac.scan(v, (pid, end) => {
          for (const tr of chain.triggers[pid]!) {
            const r = tr.rule;
            if (seen[r] === 1) continue;
            if (tr.phrase && tr.wordBoundary && !atWordBoundary(v, end - tr.length, end)) continue;
            seen[r] = 1;
            candidates.push(r);
            hits[r] = tr.phrase ? v.slice(end - tr.length, end) : null;
          }
        });
      }
      for (const r of chain.always) {
        if (seen[r] === 0) {
          seen[r] = 1;
          candidates.push(r);
        }
      }
      for (const ri of candidates) {
        seen[ri] = 0;
        const r = rules[ri]!;
        if ((r.kinds & bit) === 0 || r.def.paranoia > paranoia) continue;
        if (fired[ri] === 1 && !all) continue;
        if (r.headers !== null && (t.kind === 'header' || t.kind === 'header_name') && !r.headers.has(t.name)) continue;
        if (isValidated && r.injection) continue;
        if (r.names !== null && !r.names.test(t.name)) continue;
        const m = r.sharedPhrase ? (hits[ri] ?? null) : r.op.match(v);
        if (m === null) continue;
        if (ex.length > 0 && excluded(ex, r, t)) continue;
        if (fired[ri] === 0) {
          fired[ri] = 1;
          score += r.score;
        }
        if (matches.length < MAX_MATCHES) {
          const name = targetName(t);
          matches.push({
            ruleId: r.def.id,
            tags: r.def.tags,
            severity: r.def.severity,
            score: r.score,
            target: name,
            transforms: r.def.transforms,
            matched: fragment(t, name, m),
            description: r.def.description,
          });
        }
      }
      if (stop && score >= policy.threshold) {
        return { score, blocked: true, matches, truncated, skippedValidated };
      }
    }
  }
  return { score, blocked: score >= policy.threshold, matches, truncated, skippedValidated };
}
