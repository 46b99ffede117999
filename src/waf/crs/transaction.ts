/**
 * The SecLang interpreter: one transaction per request, its phases run in order (1 request
 * headers, 2 request body, 3 response headers, 4 response body, 5 logging) over a loaded rule set.
 * Semantics follow ModSecurity v2 and Coraza: a rule's non-disruptive actions (setvar, ctl, ...)
 * run for each variable it matches, chain links included; the chain starter's disruptive action,
 * skip/skipAfter and the log record happen only when the whole chain matched; `block` is the
 * phase's SecDefaultAction. The engine returns an interruption; the host writes the reply.
 */
import { randomUUID } from 'node:crypto';
import type { CrsCollectionStore, CollectionData } from './collections.js';
import type { CrsOperator, OperatorRun } from './contract.js';
import { expandMacro } from './macro.js';
import type { MacroRef, MacroText } from './macro.js';
import type { BodyProcessor, CrsBodyReading, CrsRequest, CrsResponseHead } from './model.js';
import type { CrsRuleSet, RuleEngineMode } from './load.js';
import { idMatcher } from './load.js';
import { MESSAGE_COLLECTIONS } from './names.js';
import { SEVERITIES } from './rule.js';
import type { CrsRule, CtlAction, Effect, RuleOperator, RuleTarget, TargetExclusion } from './rule.js';
import { collectVariable, selectMembers, type VariableValue } from './variables.js';

/** Where a disruptive action stopped the transaction. */
export interface CrsInterruption {
  readonly action: 'deny' | 'drop' | 'redirect';
  readonly status: number;
  readonly ruleId: number;
  readonly phase: number;
  /** redirect target */
  readonly url: string | null;
}

/** One variable a rule (or one of its chain links) matched. */
export interface CrsVariableMatch {
  /** e.g. 'ARGS:id', 'REQUEST_HEADERS:user-agent', 'TX:blocking_inbound_anomaly_score' */
  readonly variable: string;
  /** the value after the rule's transformations (truncated to 1024 characters) */
  readonly value: string;
  /** 0 for the chain starter, then 1, 2, ... */
  readonly chainLevel: number;
}

/** A rule that matched (its whole chain), for `waf test` and the go-ftw runner. */
export interface CrsMatchedRule {
  readonly id: number;
  readonly phase: number;
  readonly message: string;
  readonly data: string;
  /** 0 (EMERGENCY) .. 7 (DEBUG), or null */
  readonly severity: number | null;
  readonly tags: readonly string[];
  /** the rule's `log` flag (false for `nolog` rules such as the 901 initialisation) */
  readonly log: boolean;
  readonly matches: readonly CrsVariableMatch[];
  readonly file: string;
  readonly line: number;
}

export interface CrsTransactionOptions {
  /** persistent collections (initcol); without one, each transaction starts them empty */
  readonly store?: CrsCollectionStore;
  /** milliseconds since the epoch (TIME_*, DURATION, expirevar); Date.now by default */
  readonly now?: () => number;
  /** UNIQUE_ID; random by default */
  readonly uniqueId?: string;
}

const MAX_RECORDED_VALUE = 1024;
const MAX_MATCHED_VARS = 1000;
const MAX_ERRORS = 100;
const NO_EXCLUSIONS: readonly TargetExclusion[] = [];
const NO_CAPTURE: OperatorRun = { captures: null };
/** transformed values kept per transaction (the same value under the same chain is transformed once) */
const MAX_CACHED_TRANSFORMS = 50000;

interface TargetRemoval {
  readonly test: (r: CrsRule) => boolean;
  readonly target: TargetExclusion;
}

function toInt(s: string | undefined): number {
  if (s === undefined) return 0;
  const n = Number.parseInt(s, 10);
  return Number.isFinite(n) ? n : 0;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export class CrsTransaction {
  readonly matched: CrsMatchedRule[] = [];
  /** operators or transformations that threw (their value did not match), as `file:line: message` */
  readonly errors: string[] = [];
  interruption: CrsInterruption | null = null;
  /** TX, lowercase names */
  readonly tx = new Map<string, string>();
  readonly env = new Map<string, string>();
  private readonly persistent = new Map<string, { key: string; data: CollectionData }>();
  engine: RuleEngineMode;
  bodyProcessor: BodyProcessor | null;
  forceRequestBodyVariable = false;
  requestBodyAccess: boolean;
  responseBodyAccess: boolean;
  /** set by phase 2 */
  body: CrsBodyReading | null = null;
  response: CrsResponseHead | null = null;
  responseBody: string | null = null;
  matchedVar = '';
  matchedVarName = '';
  readonly matchedVars: { name: string; key: string; value: string }[] = [];
  highestSeverity = 255;
  readonly uniqueId: string;
  readonly started: number;
  readonly clock: () => number;
  /** the rule being evaluated (RULE variables, %{rule.id}) */
  current: CrsRule | null = null;
  private readonly removedIds: ((id: number) => boolean)[] = [];
  private readonly removedTags = new Set<string>();
  private readonly removedMsgs = new Set<string>();
  private readonly removedTargets: TargetRemoval[] = [];
  /** allow: 'all' skips every phase before logging; 'request' phases 1-2 */
  private allowed: '' | 'all' | 'request' = '';
  private lastPhase = 0;
  private readonly store: CrsCollectionStore | null;
  /** values of the MESSAGE_COLLECTIONS read in the current phase */
  private readonly stable = new Map<string, VariableValue[]>();
  /** transformed values by chain number, then by value */
  private readonly transformed: (Map<string, string> | undefined)[] = [];
  private cached = 0;

  constructor(
    readonly rules: CrsRuleSet,
    readonly request: CrsRequest,
    opts: CrsTransactionOptions = {},
  ) {
    this.engine = rules.engine;
    this.requestBodyAccess = rules.requestBodyAccess;
    this.responseBodyAccess = rules.responseBodyAccess;
    this.bodyProcessor = request.bodyProcessor;
    this.clock = opts.now ?? Date.now;
    this.started = this.clock();
    this.uniqueId = opts.uniqueId ?? randomUUID().replace(/-/g, '');
    this.store = opts.store ?? null;
  }

  /** Phase 1: request line and headers. */
  processRequestHeaders(): CrsInterruption | null {
    return this.phase(1);
  }

  /** Phase 2: the request body, read by the processor chosen by now (REQBODY_PROCESSOR). */
  processRequestBody(): CrsInterruption | null {
    if (this.interruption === null && this.body === null) {
      // as Coraza does: a forced REQUEST_BODY with no processor reads the body as URLENCODED
      if (this.bodyProcessor === null && this.forceRequestBodyVariable) this.bodyProcessor = 'URLENCODED';
      const p = this.bodyProcessor;
      if (this.requestBodyAccess && p !== null && this.request.body.length > 0) this.body = this.request.readBody(p);
      else this.body = { args: [], parts: [], xml: null, error: null };
    }
    return this.phase(2);
  }

  /** Phase 3: the response status line and headers. */
  processResponseHeaders(head: CrsResponseHead): CrsInterruption | null {
    this.response = head;
    return this.phase(3);
  }

  /** Phase 4: the response body (latin1), inspected when the route reads responses. */
  processResponseBody(body: string): CrsInterruption | null {
    this.responseBody = body;
    return this.phase(4);
  }

  /** Phase 5: logging (runs even after an interruption), then persistent collections are written. */
  processLogging(): void {
    this.phase(5);
    if (this.store !== null) {
      const now = Math.floor(this.clock() / 1000);
      for (const [name, c] of this.persistent) this.store.store(name, c.key, c.data, now);
    }
  }

  /** The value of `REQBODY_PROCESSOR` etc. for the variable resolver. */
  get phaseNumber(): number {
    return this.lastPhase;
  }

  private phase(p: number): CrsInterruption | null {
    this.lastPhase = p;
    this.stable.clear();
    if (this.engine === 'Off') return this.interruption;
    if (p < 5 && this.interruption !== null) return this.interruption;
    if (p < 5 && (this.allowed === 'all' || (this.allowed === 'request' && p <= 2))) return null;
    const rules = this.rules.phases[p] ?? [];
    let i = 0;
    while (i < rules.length) {
      const r = rules[i] as CrsRule;
      i++;
      if (r.marker !== null || this.removed(r)) continue;
      if (!this.evaluate(r)) continue;
      // a ctl:ruleEngine=Off of this rule stops the phase
      if (this.stopped()) break;
      if (r.skipAfter !== null) {
        let j = i;
        while (j < rules.length && (rules[j] as CrsRule).marker !== r.skipAfter) j++;
        i = j + 1;
      } else if (r.skip > 0) {
        let n = r.skip;
        while (n > 0 && i < rules.length) {
          if ((rules[i] as CrsRule).marker === null) n--;
          i++;
        }
      }
      const d = r.disruptive === null || r.disruptive === 'block' ? r.blockAs : r.disruptive;
      if (d === 'pass' || d === 'block' || this.engine !== 'On') continue;
      if (d === 'allow') {
        if (r.allowScope === 'phase') break;
        this.allowed = r.allowScope === 'request' ? 'request' : 'all';
        break;
      }
      if (p === 5) continue;
      this.interruption = {
        action: d,
        status: d === 'redirect' ? (r.status ?? 302) : (r.status ?? 403),
        ruleId: r.id,
        phase: p,
        url: d === 'redirect' && r.redirect !== null ? this.expand(r.redirect) : null,
      };
      return this.interruption;
    }
    return this.interruption;
  }

  /** An operator or transformation threw: the value does not match, and the fault is kept. */
  private fault(r: CrsRule, e: unknown): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(`${r.file}:${r.line}: ${e instanceof Error ? e.message : String(e)}`);
  }

  private stopped(): boolean {
    return this.engine === 'Off';
  }

  private removed(r: CrsRule): boolean {
    for (const m of this.removedIds) if (m(r.id)) return true;
    if (this.removedTags.size > 0) for (const t of r.tags) if (this.removedTags.has(t)) return true;
    if (this.removedMsgs.size > 0 && r.msg !== null && r.msg.length === 1 && this.removedMsgs.has(r.msg[0] as string)) return true;
    return false;
  }

  /** Evaluates a rule and its chain; records it when the whole chain matched. */
  private evaluate(head: CrsRule): boolean {
    if (this.matchedVars.length > 0) this.matchedVars.length = 0;
    this.current = head;
    const all: CrsVariableMatch[] = [];
    let link: CrsRule | null = head;
    let level = 0;
    while (link !== null) {
      if (!this.evaluateLink(link, head, level, all)) return false;
      link = link.chain;
      level++;
    }
    const sev = head.severity;
    if (sev !== null && sev < this.highestSeverity) this.highestSeverity = sev;
    this.matched.push({
      id: head.id,
      phase: head.phase,
      message: head.msg === null ? '' : this.expand(head.msg),
      data: head.logdata === null ? '' : this.expand(head.logdata),
      severity: sev,
      tags: head.tags,
      log: head.log,
      matches: all,
      file: head.file,
      line: head.line,
    });
    return true;
  }

  private evaluateLink(r: CrsRule, head: CrsRule, level: number, out: CrsVariableMatch[]): boolean {
    const op = r.operator;
    if (op === null) {
      this.runEffects(r.effects);
      out.push({ variable: '', value: '', chainLevel: level });
      return true;
    }
    let compiled = op.compiled;
    if (compiled === null) {
      try {
        compiled = op.compile(this.expand(op.paramMacro));
      } catch (e) {
        this.fault(r, e);
        return false;
      }
    }
    let any = false;
    const removals = this.removedTargets.length === 0 ? null : this.removedTargets.filter((t) => t.test(head)).map((t) => t.target);
    for (const t of r.targets) {
      const values = this.values(t, removals);
      for (const v of values) {
        if (!r.multiMatch) {
          if (this.test(r, level, compiled, v, this.transform(r, v.value), out)) any = true;
          continue;
        }
        for (const value of this.transformAll(r, v.value)) if (this.test(r, level, compiled, v, value, out)) any = true;
      }
    }
    return any;
  }

  /** Runs the operator on one (transformed) value; on a match, sets MATCHED_VAR* and runs the actions. */
  private test(r: CrsRule, level: number, compiled: CrsOperator, v: VariableValue, value: string, out: CrsVariableMatch[]): boolean {
    const run: OperatorRun = r.capture ? { captures: [] } : NO_CAPTURE;
    let hit: boolean;
    try {
      hit = compiled(value, run);
    } catch (e) {
      this.fault(r, e);
      return false;
    }
    if (hit === (r.operator as RuleOperator).negated) return false;
    if (run.captures !== null && run.captures.length > 0) {
      for (let i = 0; i < run.captures.length && i < 10; i++) this.tx.set(String(i), run.captures[i] as string);
    }
    this.matchedVar = value;
    this.matchedVarName = v.name;
    if (this.matchedVars.length < MAX_MATCHED_VARS) this.matchedVars.push({ name: v.name, key: v.name.toLowerCase(), value });
    this.runEffects(r.effects);
    out.push({ variable: v.name, value: value.length > MAX_RECORDED_VALUE ? value.slice(0, MAX_RECORDED_VALUE) : value, chainLevel: level });
    return true;
  }

  /** The transformed value, cached per transaction by transformation chain and value. */
  private transform(r: CrsRule, value: string): string {
    const fs = r.transforms;
    if (fs.length === 0) return value;
    let byValue = this.transformed[r.transformId];
    const got = byValue?.get(value);
    if (got !== undefined) return got;
    let v = value;
    try {
      for (const f of fs) v = f(v);
    } catch (e) {
      this.fault(r, e);
    }
    if (this.cached < MAX_CACHED_TRANSFORMS) {
      if (byValue === undefined) {
        byValue = new Map();
        this.transformed[r.transformId] = byValue;
      }
      byValue.set(value, v);
      this.cached++;
    }
    return v;
  }

  /** multiMatch: the value before any transformation and after each one that changed it. */
  private transformAll(r: CrsRule, value: string): string[] {
    const out = [value];
    let v = value;
    for (const f of r.transforms) {
      let next = v;
      try {
        next = f(v);
      } catch (e) {
        this.fault(r, e);
      }
      if (next !== v) out.push(next);
      v = next;
    }
    return out;
  }

  /** The values of one target of a rule, exclusions applied. */
  private values(t: RuleTarget, removals: readonly TargetExclusion[] | null): VariableValue[] {
    let vals: VariableValue[];
    if (MESSAGE_COLLECTIONS.has(t.collection)) {
      // request collections do not change within a phase: read once, then select
      let all = this.stable.get(t.collection);
      if (all === undefined) {
        all = collectVariable(this, t.collection, null, null);
        this.stable.set(t.collection, all);
      }
      vals = t.key === null && t.keyRegex === null ? all : selectMembers(all, t.key, t.keyRegex);
    } else vals = collectVariable(this, t.collection, t.key, t.keyRegex);
    const ex = t.exclusions;
    const rm = removals === null ? NO_EXCLUSIONS : removals.filter((e) => e.collection === t.collection);
    if (ex.length > 0 || rm.length > 0) {
      const test = (e: TargetExclusion, v: VariableValue): boolean =>
        e.key === null ? e.keyRegex === null || e.keyRegex(v.key) : e.key === v.key.toLowerCase();
      vals = vals.filter((v) => !ex.some((e) => test(e, v)) && !rm.some((e) => test(e, v)));
    }
    if (t.count) return [{ name: `&${t.collection}${t.selector === null ? '' : `:${t.selector}`}`, key: '', value: String(vals.length) }];
    return vals;
  }

  /** Expands a macro string against the transaction. */
  expand(m: MacroText): string {
    return expandMacro(m, (ref) => this.resolve(ref));
  }

  private resolve(ref: MacroRef): string {
    const vals = collectVariable(this, ref.collection, ref.key === null ? null : ref.key.toLowerCase(), null);
    return vals[0]?.value ?? '';
  }

  private runEffects(effects: readonly Effect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case 'setvar': {
          const s = e.setvar;
          const col = this.collection(s.collection);
          if (col === null) break;
          const key = this.expand(s.key).toLowerCase();
          if (s.op === '!') col.delete(key);
          else if (s.op === '=') col.set(key, this.expand(s.value));
          else {
            const n = toInt(this.expand(s.value));
            col.set(key, String(toInt(col.get(key)) + (s.op === '+' ? n : -n)));
          }
          break;
        }
        case 'expirevar': {
          const c = this.persistent.get(e.collection);
          if (c === undefined) break;
          const secs = toInt(this.expand(e.seconds));
          c.data.expires.set(this.expand(e.key).toLowerCase(), Math.floor(this.clock() / 1000) + secs);
          break;
        }
        case 'initcol': {
          if (this.persistent.has(e.collection)) break;
          const key = this.expand(e.key);
          const now = Math.floor(this.clock() / 1000);
          const data = this.store?.load(e.collection, key, now) ?? { values: new Map<string, string>(), expires: new Map<string, number>() };
          this.persistent.set(e.collection, { key, data });
          break;
        }
        case 'setenv':
          this.env.set(this.expand(e.name), this.expand(e.value));
          break;
        case 'ctl':
          this.ctl(e.ctl);
          break;
      }
    }
  }

  /** TX or an initialised persistent collection, by lowercase name; null when not initialised. */
  collection(name: string): Map<string, string> | null {
    if (name === 'tx') return this.tx;
    return this.persistent.get(name)?.data.values ?? null;
  }

  private ctl(c: CtlAction): void {
    const v = c.value;
    const on = v.toLowerCase() === 'on';
    switch (c.name) {
      case 'ruleengine': {
        const l = v.toLowerCase();
        this.engine = l === 'on' ? 'On' : l === 'off' ? 'Off' : l === 'detectiononly' ? 'DetectionOnly' : this.engine;
        break;
      }
      case 'ruleremovebyid':
        this.removedIds.push(idMatcher([v]));
        break;
      case 'ruleremovebytag':
        this.removedTags.add(v);
        break;
      case 'ruleremovebymsg':
        this.removedMsgs.add(v);
        break;
      case 'ruleremovetargetbyid':
      case 'ruleremovetargetbytag':
      case 'ruleremovetargetbymsg': {
        if (c.target === null) break;
        const test =
          c.name === 'ruleremovetargetbyid'
            ? (
                (m: (id: number) => boolean) => (r: CrsRule) =>
                  m(r.id)
              )(idMatcher([v]))
            : c.name === 'ruleremovetargetbytag'
              ? (r: CrsRule) => r.tags.includes(v)
              : (r: CrsRule) => r.msg !== null && r.msg.length === 1 && r.msg[0] === v;
        this.removedTargets.push({ test, target: c.target });
        break;
      }
      case 'requestbodyprocessor': {
        const p = v.toUpperCase();
        if (p === 'URLENCODED' || p === 'MULTIPART' || p === 'JSON' || p === 'XML') this.bodyProcessor = p;
        break;
      }
      case 'forcerequestbodyvariable':
        this.forceRequestBodyVariable = on;
        break;
      case 'requestbodyaccess':
        this.requestBodyAccess = on;
        break;
      case 'responsebodyaccess':
        this.responseBodyAccess = on;
        break;
      default:
        // audit and debug logging, limits: no effect on matching
        break;
    }
  }

  /** TIME_* values in UTC. */
  time(kind: string): string {
    const d = new Date(this.clock());
    switch (kind) {
      case 'TIME':
        return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
      case 'TIME_DAY':
        return String(d.getUTCDate());
      case 'TIME_EPOCH':
        return String(Math.floor(d.getTime() / 1000));
      case 'TIME_HOUR':
        return String(d.getUTCHours());
      case 'TIME_MIN':
        return String(d.getUTCMinutes());
      case 'TIME_MON':
        return String(d.getUTCMonth() + 1);
      case 'TIME_SEC':
        return String(d.getUTCSeconds());
      case 'TIME_WDAY':
        return String(d.getUTCDay());
      case 'TIME_YEAR':
        return String(d.getUTCFullYear());
      default:
        return String(Math.max(0, this.clock() - this.started));
    }
  }

  /** RULE:id, RULE:msg, ... of the rule being evaluated. */
  ruleValue(key: string): string | null {
    const r = this.current;
    if (r === null) return null;
    switch (key) {
      case 'id':
        return String(r.id);
      case 'phase':
        return String(r.phase);
      case 'msg':
        return r.msg === null ? '' : r.msg.map((p) => (typeof p === 'string' ? p : '')).join('');
      case 'severity':
        return r.severity === null ? '' : (SEVERITIES[r.severity] ?? '');
      case 'ver':
        return r.ver ?? '';
      case 'rev':
        return r.rev ?? '';
      case 'maturity':
        return r.maturity === null ? '' : String(r.maturity);
      case 'accuracy':
        return r.accuracy === null ? '' : String(r.accuracy);
      case 'logdata':
        return '';
      default:
        return null;
    }
  }
}

/** The outcome of a request through phases 1, 2 and 5. */
export interface CrsRequestResult {
  readonly interruption: CrsInterruption | null;
  readonly matched: readonly CrsMatchedRule[];
  readonly tx: ReadonlyMap<string, string>;
}

/** Runs the request phases and logging: for `waf test`, the go-ftw runner and routes that do not inspect responses. */
export function evaluateRequest(rules: CrsRuleSet, request: CrsRequest, opts: CrsTransactionOptions = {}): CrsRequestResult {
  const t = new CrsTransaction(rules, request, opts);
  if (t.processRequestHeaders() === null) t.processRequestBody();
  t.processLogging();
  return { interruption: t.interruption, matched: t.matched, tx: t.tx };
}
