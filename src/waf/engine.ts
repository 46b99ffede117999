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
import { TRANSFORMATIONS, compileChain, type Transformation } from './transformations/index.js';
import { extractTargets } from './targets.js';
import {
  DEFAULT_LIMITS,
  SEVERITY_SCORE,
  TARGET_KINDS,
  type Evaluation,
  type Exclusion,
  type Limits,
  type Policy,
  type RuleDef,
  type RuleMatch,
  type Target,
  type TargetKind,
  type WafRequest,
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
  /** the chain whose output the literal must be found in */
  readonly chain: number;
  /** phrase rules: the hit is the match (checked for word boundaries when needed) */
  readonly phrase: boolean;
  readonly wordBoundary: boolean;
  readonly length: number;
}

interface CompiledChain {
  readonly names: readonly string[];
  /** the chain's steps, and for each step the id of the chain prefix ending there (shared cache) */
  readonly steps: readonly Transformation[];
  /** per step: the character flags it acts on (see STEP_MASK), and whether it lowercases */
  readonly stepMasks: readonly number[];
  /** per step: flags without which its output is empty (STEP_EMPTY_UNLESS), or 0 */
  readonly stepEmptyUnless: readonly number[];
  readonly stepLowers: readonly boolean[];
  readonly prefixIds: readonly number[];
  /** character flags (charFlags) on which some step acts beyond lowercasing */
  readonly mask: number;
  /** on a value without those characters, the chain's output is the value lowercased (else itself) */
  readonly lowers: boolean;
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
  /** one automaton over the literals and phrases of every rule; triggers name rule and chain */
  readonly ac: AhoCorasick | null;
  readonly triggers: readonly (readonly Trigger[])[];
  readonly prefixCount: number;
  /** per kind bit index: chains with a rule for that kind */
  readonly chainsByKind: readonly (readonly number[])[];
  /** scratch space reused by evaluate (synchronous, so never shared by two evaluations) */
  readonly scratch: Scratch;
}

interface Scratch {
  readonly seen: Uint8Array;
  readonly fired: Uint8Array;
  readonly hit: (string | null)[];
  readonly candidates: Int32Array;
  readonly prefixOut: (string | null)[];
  /** prefixOut[i] is valid when prefixStamp[i] equals the current target's stamp */
  readonly prefixStamp: Int32Array;
  stamp: number;
  readonly chainOut: (string | null)[];
  /** per chain: index of its output among the target's distinct outputs */
  readonly chainDistinct: Int32Array;
}

const KIND_BIT: Readonly<Record<TargetKind, number>> = Object.fromEntries(TARGET_KINDS.map((k, i) => [k, 1 << i])) as Record<TargetKind, number>;
const KIND_INDEX: ReadonlyMap<string, number> = new Map(TARGET_KINDS.map((k, i) => [k, i]));

// Character flags of a value: which transformations could change it beyond letter case.
const F_PCT = 1,
  F_AMP = 2,
  F_BSL = 4,
  F_NONASCII = 8,
  F_NUL = 16,
  F_WS = 32,
  F_SPACE = 64,
  F_CMT = 128,
  F_CMD = 256,
  F_PLUS = 512,
  F_UPPER = 1024;
/** set on every value, so that transformations without a mask always run */
const F_ALWAYS = 1 << 30;
const ALL_FLAGS = 0x7fffffff;
/** flags on which each transformation acts; transformations not listed always run */
const STEP_MASK: Readonly<Record<string, number>> = {
  urlDecode: F_PCT,
  urlDecodePlus: F_PCT | F_PLUS,
  htmlEntityDecode: F_AMP,
  jsDecode: F_BSL,
  unicodeFold: F_NONASCII,
  decodeAll: F_PCT | F_AMP | F_BSL | F_NONASCII,
  removeNulls: F_NUL | F_NONASCII,
  removeComments: F_CMT,
  removeCommentsChar: F_CMT,
  compressWhitespace: F_WS,
  removeWhitespace: F_WS | F_SPACE,
  cmdLine: F_BSL | F_CMD | F_WS,
  normaliseSlashes: F_BSL,
  lowercase: 0,
};

/**
 * Steps whose output is empty on a value without these flags (so they need not run on it):
 * base64 decoding requires mixed case, so a value without an upper-case letter is not base64.
 */
const STEP_EMPTY_UNLESS: Readonly<Record<string, number>> = {
  base64DecodeAligned: F_UPPER,
};

/** flags of single ASCII characters; F_CTX marks characters whose flag depends on the previous one */
const F_CTX = 1 << 29;
const CHAR_FLAG = (() => {
  const t = new Uint32Array(128);
  for (let c = 0; c < 0x20; c++) t[c] = F_WS;
  t[0x7f] = F_WS;
  t[0x00] = F_NUL;
  t[0x25] = F_PCT;
  t[0x26] = F_AMP;
  t[0x5c] = F_BSL | F_CMD;
  t[0x23] = F_CMT;
  t[0x2b] = F_PLUS;
  for (const c of [0x22, 0x27, 0x5e, 0x24, 0x2c]) t[c] = F_CMD;
  for (const c of [0x20, 0x2a, 0x2f, 0x2d, 0x21]) t[c] = F_CTX;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = F_UPPER;
  return t;
})();

/** The value in lower case; itself (no copy) when its flags say it has no upper case and no non-ASCII. */
function lowercased(value: string, flags: number): string {
  return (flags & (F_UPPER | F_NONASCII)) === 0 ? value : value.toLowerCase();
}

/** One pass over the value: which of the flags above it has. */
export function charFlags(s: string): number {
  let f = F_ALWAYS;
  let prev = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      f |= F_NONASCII;
    } else {
      const x = CHAR_FLAG[c]!;
      if (x !== 0) {
        if (x !== F_CTX) f |= x;
        else if (c === 0x20) f |= prev === 0x20 ? F_WS | F_SPACE : F_SPACE;
        else if ((c === 0x2a && prev === 0x2f) || (c === 0x2f && prev === 0x2a) || (c === 0x2d && prev === 0x2d) || (c === 0x21 && prev === 0x3c)) f |= F_CMT;
      }
    }
    prev = c;
  }
  return f;
}

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
  const patterns: string[] = [];
  const patternIds = new Map<string, number>();
  const triggers: Trigger[][] = [];
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
  const prefixKeys = new Map<string, number>();
  const chains: CompiledChain[] = chainDefs.map(({ names, rules: idx }, ci) => {
    const always: number[] = [];
    let kinds = 0;
    for (const i of idx) {
      const r = rules[i]!;
      kinds |= r.kinds;
      if (r.def.literals !== undefined) {
        for (const l of r.def.literals) addPattern(l.toLowerCase(), { rule: i, chain: ci, phrase: false, wordBoundary: false, length: l.length });
      } else if (r.sharedPhrase) {
        for (const p of r.op.phrases!) addPattern(p, { rule: i, chain: ci, phrase: true, wordBoundary: r.op.wordBoundary === true, length: p.length });
      } else always.push(i);
    }
    const prefixIds: number[] = [];
    for (let k = 1; k <= names.length; k++) {
      const key = names.slice(0, k).join(',');
      let id = prefixKeys.get(key);
      if (id === undefined) {
        id = prefixKeys.size;
        prefixKeys.set(key, id);
      }
      prefixIds.push(id);
    }
    compileChain(names); // validates the names
    let mask = 0;
    for (const n of names) mask |= STEP_MASK[n] ?? ALL_FLAGS;
    const stepLowers = names.map((n) => n === 'lowercase' || n === 'cmdLine');
    const lowers = stepLowers.includes(true);
    const stepMasks = names.map((n) => STEP_MASK[n] ?? ALL_FLAGS);
    const stepEmptyUnless = names.map((n) => STEP_EMPTY_UNLESS[n] ?? 0);
    return { names, steps: names.map((n) => TRANSFORMATIONS[n]!), stepMasks, stepEmptyUnless, stepLowers, prefixIds, mask, lowers, always, kinds };
  });
  const chainsByKind = TARGET_KINDS.map((k) => chains.map((c, i) => ((c.kinds & KIND_BIT[k]) !== 0 ? i : -1)).filter((i) => i >= 0));
  const n = rules.length;
  return {
    rules,
    chains,
    byId: new Map(rules.map((r) => [r.def.id, r])),
    limits,
    ac: patterns.length > 0 ? new AhoCorasick(patterns) : null,
    triggers,
    prefixCount: prefixKeys.size,
    chainsByKind,
    scratch: {
      seen: new Uint8Array(n),
      fired: new Uint8Array(n),
      hit: new Array<string | null>(n).fill(null),
      candidates: new Int32Array(n),
      prefixOut: new Array<string | null>(prefixKeys.size).fill(null),
      prefixStamp: new Int32Array(prefixKeys.size),
      stamp: 0,
      chainOut: new Array<string | null>(chains.length).fill(null),
      chainDistinct: new Int32Array(chains.length),
    },
  };
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
/** longest value remembered as clean within one request */
const DEDUPE_MAX = 256;
/** requests with at most this many targets are not worth remembering clean values for */
const DEDUPE_MIN_TARGETS = 48;
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
  /** header values found clean by earlier requests under the same policy (see CleanHeaders) */
  readonly cleanHeaders?: CleanHeaders;
}

/** Target kinds whose clean values are remembered across requests: what a client sends on every request. */
const REMEMBERED_KINDS: ReadonlySet<string> = new Set(['method', 'header', 'header_name', 'content_type']);
/** Longest value remembered. */
const REMEMBERED_MAX = 256;

/**
 * Values of headers (and methods, content types) that evaluated clean under one policy: a client
 * sends the same User-Agent, Accept and header names on every request, and the engine is
 * deterministic, so a name and value that matched nothing match nothing the next time. A value
 * is remembered with its name (rules and exclusions may depend on it), and only when its verdict
 * depended on nothing else in the request (not on a rule skipped because it had already fired on
 * another target, nor on validation). Bounded: oldest first out. One instance per route policy
 * and config snapshot (a reload starts afresh).
 */
export class CleanHeaders {
  private readonly byKind: (Set<string> | undefined)[] = [];
  constructor(private readonly max = 512) {}

  has(kindIndex: number, value: string): boolean {
    const s = this.byKind[kindIndex];
    return s !== undefined && s.has(value);
  }

  add(kindIndex: number, value: string): void {
    let s = this.byKind[kindIndex];
    if (s === undefined) s = this.byKind[kindIndex] = new Set();
    if (s.size >= this.max) s.delete(s.values().next().value as string);
    s.add(value);
  }
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
  const { rules, chains, ac, triggers, chainsByKind, scratch } = compiled;
  const { seen, fired, hit, candidates, prefixOut, prefixStamp, chainOut, chainDistinct } = scratch;
  fired.fill(0);
  const matches: RuleMatch[] = [];
  let score = 0;
  let skippedValidated = 0;
  const stop = policy.stopAtThreshold === true && !all;
  const paranoia = policy.paranoia;
  // distinct chain outputs of the current target (usually 1-4 strings): the first `nd` entries
  const distinct: string[] = [];
  let nd = 0;

  // values already found clean for a kind (JSON keys and values repeat in arrays of objects);
  // remembering them pays only when there are many targets
  const clean: (Set<string> | undefined)[] = [];
  const remember = targets.length > DEDUPE_MIN_TARGETS;
  const known = opts.cleanHeaders;

  for (const t of targets) {
    const kindIndex = KIND_INDEX.get(t.kind)!;
    // remembered by name and value: rules and exclusions may depend on the header's name
    const rememberKey = known !== undefined && REMEMBERED_KINDS.has(t.kind) && t.value.length <= REMEMBERED_MAX ? `${t.name}\u0000${t.value}` : null;
    if (rememberKey !== null && known!.has(kindIndex, rememberKey)) continue;
    let orderDependent = false;
    const bit = 1 << kindIndex;
    const isValidated =
      validated !== null && t.pointer !== null && validated.has(t.kind === 'json' ? (t.name === '/' ? '/body' : `/body${t.name}`) : t.pointer);
    if (isValidated) skippedValidated++;
    const chainIdx = chainsByKind[kindIndex]!;
    if (chainIdx.length === 0) continue;
    const dedupe = remember && t.value.length <= DEDUPE_MAX;
    if (dedupe && clean[kindIndex]?.has(t.value) === true) continue;
    let dependent = isValidated;
    const before = matches.length;
    const scoreBefore = score;
    // 1. transformations. A value without the characters a chain's steps act on gets the chain's
    // output without running it (itself, or its lowercase); other chains share computed prefixes.
    const flags = charFlags(t.value);
    let lower: string | null = null;
    const stamp = (scratch.stamp = (scratch.stamp + 1) | 0);
    nd = 0;
    for (const ci of chainIdx) {
      const c = chains[ci]!;
      let v = t.value;
      if ((flags & c.mask) === 0) {
        if (c.lowers) v = lower ??= lowercased(v, flags);
      } else {
        // steps before the first one with work to do leave the value as it is (or lowercase it)
        const steps = c.steps;
        let unchanged = true;
        for (let k = 0; k < steps.length; k++) {
          const pid = c.prefixIds[k]!;
          if (prefixStamp[pid] === stamp) v = prefixOut[pid]!;
          else {
            if (unchanged && (flags & c.stepMasks[k]!) === 0) {
              if (c.stepLowers[k]!) v = lower ??= lowercased(t.value, flags);
            } else if (unchanged && c.stepEmptyUnless[k]! !== 0 && (flags & c.stepEmptyUnless[k]!) === 0) {
              v = ''; // e.g. base64 of a value without upper case: nothing to decode
              unchanged = false;
            } else {
              v = steps[k]!(v);
              unchanged = false;
            }
            prefixOut[pid] = v;
            prefixStamp[pid] = stamp;
          }
          if (v !== t.value && v !== lower) unchanged = false;
        }
      }
      chainOut[ci] = v;
      let d = -1;
      if (v.length > 0) {
        d = 0;
        while (d < nd && distinct[d] !== v) d++;
        if (d === nd) distinct[nd++] = v;
      }
      chainDistinct[ci] = d;
    }
    // 2. one automaton scan per distinct transformed value finds the candidate rules
    let nc = 0;
    if (ac !== null) {
      const { delta, classes, width, firstOut, out } = ac;
      for (let j = 0; j < nd; j++) {
        const v = distinct[j]!;
        let st = 0;
        for (let p = 0; p < v.length; p++) {
          const ch = v.charCodeAt(p);
          st = ch < 256 ? delta[st * width + classes[ch]!]! : 0;
          if (st < firstOut) continue;
          const o = out[st]!;
          const end = p + 1;
          for (let q = 0; q < o.length; q++) {
            const trs = triggers[o[q]!]!;
            for (let x = 0; x < trs.length; x++) {
              const tr = trs[x]!;
              const r = tr.rule;
              if (seen[r] === 1 || chainDistinct[tr.chain] !== j) continue;
              if (tr.phrase && tr.wordBoundary && !atWordBoundary(v, end - tr.length, end)) continue;
              seen[r] = 1;
              candidates[nc++] = r;
              hit[r] = tr.phrase ? v.slice(end - tr.length, end) : null;
            }
          }
        }
      }
    }
    for (const ci of chainIdx) {
      if (chainOut[ci]!.length === 0) continue;
      for (const r of chains[ci]!.always) {
        if (seen[r] === 0) {
          seen[r] = 1;
          candidates[nc++] = r;
        }
      }
    }
    // 3. operators of the candidates
    for (let i = 0; i < nc; i++) {
      const ri = candidates[i]!;
      seen[ri] = 0;
      const r = rules[ri]!;
      if ((r.kinds & bit) === 0 || r.def.paranoia > paranoia) continue;
      if (fired[ri] === 1 && !all) {
        orderDependent = true; // clean here only because the rule already fired on another target
        continue;
      }
      if (r.headers !== null && (t.kind === 'header' || t.kind === 'header_name') && !r.headers.has(t.name)) {
        dependent = true;
        continue;
      }
      if (isValidated && r.injection) continue;
      if (r.names !== null && !r.names.test(t.name)) {
        dependent = true;
        continue;
      }
      const v = chainOut[r.chain]!;
      const m = r.sharedPhrase ? (hit[ri] ?? null) : r.op.match(v);
      if (m === null) continue;
      if (ex.length > 0 && excluded(ex, r, t)) {
        dependent = true;
        continue;
      }
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
    if (!orderDependent && matches.length === before && score === scoreBefore) {
      if (dedupe && !dependent) (clean[kindIndex] ??= new Set()).add(t.value);
      if (rememberKey !== null && !isValidated) known!.add(kindIndex, rememberKey);
    }
    if (stop && score >= policy.threshold) {
      return { score, blocked: true, matches, truncated, skippedValidated };
    }
  }
  return { score, blocked: score >= policy.threshold, matches, truncated, skippedValidated };
}
