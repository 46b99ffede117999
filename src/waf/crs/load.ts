/**
 * The SecLang loader: reads directives (parse.ts) into rules (rule.ts), applies SecDefaultAction,
 * SecRuleRemoveBy*, SecRuleUpdateTargetBy* and SecRuleUpdateActionById in file order, and
 * compiles transformations and operators through the registries it is given (contract.ts). A
 * rule a registry cannot honour (CrsUnsupported), or that uses a construct the engine cannot
 * honour exactly, is listed in `unsupported` with the reason and does not run; a syntax error
 * throws CrsSyntaxError naming the file, the line and the text.
 */
import { CrsUnsupported } from './contract.js';
import type { CrsOperator, OperatorCompiler, OperatorContext, TransformationRegistry } from './contract.js';
import { hasMacro, parseMacro } from './macro.js';
import { COLLECTIONS, SCALARS, UNSUPPORTED_VARIABLES } from './names.js';
import { CrsSyntaxError, parseDirectives, parseOperator, parseVariables, splitActions } from './parse.js';
import type { ActionItem, Directive, VariableSpec } from './parse.js';
import { SEVERITIES } from './rule.js';
import type { CrsRule, CtlAction, Disruptive, KeyMatcher, SetVar, SetVarOp, TargetExclusion, UnsupportedRule } from './rule.js';

export interface CrsLoadOptions {
  readonly transformations: TransformationRegistry;
  readonly operators: OperatorCompiler;
  /** reads `@pmFromFile` / `@ipMatchFromFile` data files (joined to the rule file's folder) */
  readonly readFile: (path: string) => string;
}

/** A rule file's name (for errors, and the folder of its data files) and its text. */
export interface CrsSource {
  readonly file: string;
  readonly text: string;
}

export type RuleEngineMode = 'On' | 'Off' | 'DetectionOnly';

/** Loaded rules, by phase (1..5) in file order, markers included in every phase. */
export interface CrsRuleSet {
  readonly phases: readonly (readonly CrsRule[])[];
  /** every loaded rule with an id, by id */
  readonly byId: ReadonlyMap<number, CrsRule>;
  readonly unsupported: readonly UnsupportedRule[];
  readonly engine: RuleEngineMode;
  readonly requestBodyAccess: boolean;
  readonly responseBodyAccess: boolean;
  /** other configuration directives, by name: their arguments (the last one wins) */
  readonly config: ReadonlyMap<string, readonly string[]>;
  readonly componentSignatures: readonly string[];
}

/** Configuration directives accepted and recorded (their effect is the host's, or none here). */
const CONFIG_DIRECTIVES: ReadonlySet<string> = new Set(
  [
    'SecRuleEngine',
    'SecRequestBodyAccess',
    'SecResponseBodyAccess',
    'SecRequestBodyLimit',
    'SecRequestBodyNoFilesLimit',
    'SecRequestBodyInMemoryLimit',
    'SecRequestBodyLimitAction',
    'SecRequestBodyJsonDepthLimit',
    'SecArgumentsLimit',
    'SecResponseBodyMimeType',
    'SecResponseBodyMimeTypesClear',
    'SecResponseBodyLimit',
    'SecResponseBodyLimitAction',
    'SecPcreMatchLimit',
    'SecPcreMatchLimitRecursion',
    'SecTmpDir',
    'SecDataDir',
    'SecUploadDir',
    'SecUploadKeepFiles',
    'SecUploadFileMode',
    'SecUploadFileLimit',
    'SecTmpSaveUploadedFiles',
    'SecAuditEngine',
    'SecAuditLog',
    'SecAuditLog2',
    'SecAuditLogParts',
    'SecAuditLogRelevantStatus',
    'SecAuditLogType',
    'SecAuditLogFormat',
    'SecAuditLogStorageDir',
    'SecAuditLogDirMode',
    'SecAuditLogFileMode',
    'SecDebugLog',
    'SecDebugLogLevel',
    'SecArgumentSeparator',
    'SecCookieFormat',
    'SecCookieV0Separator',
    'SecUnicodeMapFile',
    'SecStatusEngine',
    'SecCollectionTimeout',
    'SecHttpBlKey',
    'SecServerSignature',
    'SecWebAppId',
    'SecGeoLookupDb',
    'SecXmlExternalEntity',
    'SecConnEngine',
    'SecHashEngine',
    'SecContentInjection',
    'SecStreamInBodyInspection',
    'SecStreamOutBodyInspection',
    'SecInterceptOnError',
    'SecRequestBodyInspection',
  ].map((s) => s.toLowerCase()),
);

/** Actions with no effect on matching (metadata, logging) that are accepted and ignored. */
const IGNORED_ACTIONS: ReadonlySet<string> = new Set([
  'sanitisearg',
  'sanitisematched',
  'sanitisematchedbytes',
  'sanitiserequestheader',
  'sanitiseresponseheader',
  'xmlns',
]);

/** Actions the engine knows and cannot honour exactly. */
const UNSUPPORTED_ACTIONS: Readonly<Record<string, string>> = {
  exec: 'exec runs an external script',
  append: 'append injects content into the response',
  prepend: 'prepend injects content into the response',
  proxy: 'proxy forwards the request elsewhere',
  pause: 'pause delays the response',
  deprecatevar: 'deprecatevar is not implemented',
};

const CTL_NAMES: ReadonlySet<string> = new Set([
  'ruleengine',
  'ruleremovebyid',
  'ruleremovebytag',
  'ruleremovebymsg',
  'ruleremovetargetbyid',
  'ruleremovetargetbytag',
  'ruleremovetargetbymsg',
  'requestbodyprocessor',
  'forcerequestbodyvariable',
  'requestbodyaccess',
  'responsebodyaccess',
  'requestbodylimit',
  'responsebodylimit',
  'auditengine',
  'auditlogparts',
  'debugloglevel',
  'hashengine',
  'hashenforcement',
]);

/** operators compiled at run time (macro parameters) kept per rule set */
const DYNAMIC_CACHE = 512;
const DYNAMIC_MAX_PARAM = 4096;

interface DefaultActions {
  readonly disruptive: Disruptive;
  readonly status: number | null;
  readonly log: boolean;
  readonly auditlog: boolean;
  readonly transforms: readonly string[];
}

const BUILTIN_DEFAULT: DefaultActions = { disruptive: 'pass', status: null, log: true, auditlog: true, transforms: [] };

function phaseOf(v: string): number | null {
  const l = v.toLowerCase();
  if (l === 'request') return 2;
  if (l === 'response') return 4;
  if (l === 'logging') return 5;
  return /^[1-5]$/.test(v) ? Number(v) : null;
}

/** `1-3,5` style id lists: `SecRuleRemoveById 900000-900999 901001`. */
export function idMatcher(args: readonly string[]): (id: number) => boolean {
  const ranges: [number, number][] = [];
  for (const a of args)
    for (const part of a.split(/[\s,]+/)) {
      if (part === '') continue;
      const m = /^(\d+)(?:-(\d+))?$/.exec(part);
      if (m === null) throw new Error(`'${part}' is not a rule id or id range`);
      const lo = Number(m[1]);
      ranges.push([lo, m[2] === undefined ? lo : Number(m[2])]);
    }
  return (id) => ranges.some(([lo, hi]) => id >= lo && id <= hi);
}

class Loader {
  private readonly all: CrsRule[] = [];
  private readonly ids = new Map<number, CrsRule>();
  readonly unsupported: UnsupportedRule[] = [];
  private readonly defaults = new Map<number, DefaultActions>();
  readonly config = new Map<string, readonly string[]>();
  readonly signatures: string[] = [];
  engine: RuleEngineMode = 'On';
  requestBodyAccess = true;
  responseBodyAccess = false;
  /** the rule whose `chain` waits for its next link */
  private open: { rule: CrsRule; last: CrsRule; failed: string | null } | null = null;
  private readonly keyCache = new Map<string, KeyMatcher>();
  private readonly dynamicCache = new Map<string, CrsOperator>();

  constructor(private readonly opts: CrsLoadOptions) {}

  load(src: CrsSource): void {
    for (const d of parseDirectives(src.text, src.file)) this.directive(d);
  }

  finish(): CrsRuleSet {
    if (this.open !== null) {
      const r = this.open.rule;
      throw new CrsSyntaxError(r.file, r.line, `id:${r.id}`, 'chain without a following rule');
    }
    const chains = new Map<string, number>();
    for (const head of this.all)
      for (let r: CrsRule | null = head; r !== null; r = r.chain) {
        const key = r.transformNames.join(',');
        let id = chains.get(key);
        if (id === undefined) {
          id = chains.size;
          chains.set(key, id);
        }
        r.transformId = id;
        for (const t of r.targets) t.exclusions = r.exclusions.filter((e) => e.collection === t.collection);
      }
    const phases: CrsRule[][] = [[], [], [], [], [], []];
    for (const r of this.all) {
      if (r.marker !== null) for (let p = 1; p <= 5; p++) phases[p]!.push(r);
      else phases[r.phase]!.push(r);
    }
    const byId = new Map<number, CrsRule>();
    for (const r of this.all) if (r.id !== 0) byId.set(r.id, r);
    return {
      phases,
      byId,
      unsupported: this.unsupported,
      engine: this.engine,
      requestBodyAccess: this.requestBodyAccess,
      responseBodyAccess: this.responseBodyAccess,
      config: this.config,
      componentSignatures: this.signatures,
    };
  }

  private fail(d: Directive, reason: string): never {
    throw new CrsSyntaxError(d.file, d.line, `${d.name} ${d.args.map((a) => JSON.stringify(a)).join(' ')}`, reason);
  }

  private directive(d: Directive): void {
    const name = d.name.toLowerCase();
    if (this.open !== null && name !== 'secrule') this.fail(d, 'a chained rule must be followed by a SecRule');
    switch (name) {
      case 'secrule': {
        if (d.args.length < 2 || d.args.length > 3) this.fail(d, 'SecRule takes variables, an operator and actions');
        this.rule(d, d.args[0] as string, d.args[1] as string, d.args[2] ?? '');
        return;
      }
      case 'secaction':
        if (d.args.length !== 1) this.fail(d, 'SecAction takes one argument');
        this.rule(d, null, null, d.args[0] as string);
        return;
      case 'secmarker': {
        if (d.args.length !== 1) this.fail(d, 'SecMarker takes one argument');
        this.all.push(this.blank(d, 0, d.args[0] as string));
        return;
      }
      case 'secdefaultaction':
        if (d.args.length !== 1) this.fail(d, 'SecDefaultAction takes one argument');
        this.defaultAction(d);
        return;
      case 'seccomponentsignature':
        this.signatures.push(...d.args);
        return;
      case 'secruleremovebyid': {
        const m = this.ids1(d, d.args);
        this.remove((r) => m(r.id));
        return;
      }
      case 'secruleremovebytag': {
        const tags = new Set(d.args);
        this.remove((r) => r.tags.some((t) => tags.has(t)));
        return;
      }
      case 'secruleremovebymsg': {
        const msgs = new Set(d.args);
        this.remove(
          (r) => r.msg !== null && msgs.has(r.msg.map((p) => (typeof p === 'string' ? p : `%{${p.collection}${p.key === null ? '' : `.${p.key}`}}`)).join('')),
        );
        return;
      }
      case 'secruleupdatetargetbyid':
      case 'secruleupdatetargetbytag':
      case 'secruleupdatetargetbymsg': {
        if (d.args.length < 2 || d.args.length > 3) this.fail(d, `${d.name} takes a selector, targets and an optional target to replace`);
        const sel = d.args[0] as string;
        const pick =
          name === 'secruleupdatetargetbyid'
            ? (
                (m) => (r: CrsRule) =>
                  m(r.id)
              )(this.ids1(d, [sel]))
            : name === 'secruleupdatetargetbytag'
              ? (r: CrsRule) => r.tags.includes(sel)
              : (r: CrsRule) => r.msg !== null && r.msg.length === 1 && r.msg[0] === sel;
        const specs = this.variables(d, d.args[1] as string);
        const replaced = d.args[2] === undefined ? null : this.variables(d, d.args[2])[0];
        for (const r of this.all) if (r.id !== 0 && r.marker === null && pick(r)) this.updateTargets(d, r, specs, replaced ?? null);
        return;
      }
      case 'secruleupdateactionbyid': {
        if (d.args.length !== 2) this.fail(d, 'SecRuleUpdateActionById takes an id and actions');
        const m = /^(\d+)(?::(\d+))?$/.exec(d.args[0] as string);
        if (m === null) this.fail(d, 'not a rule id');
        let r = this.ids.get(Number(m[1])) ?? null;
        for (let k = Number(m[2] ?? '0'); k > 0 && r !== null; k--) r = r.chain;
        if (r === null) return;
        const items = splitActions(d.args[1] as string, d.file, d.line);
        const head = this.ids.get(Number(m[1])) as CrsRule;
        try {
          this.applyActions(d, r, items, true);
          r.transforms = this.transforms(r.transformNames);
        } catch (e) {
          if (!(e instanceof CrsUnsupported)) throw e;
          this.remove((x) => x === head);
          this.unsupported.push({ id: head.id, file: head.file, line: head.line, reason: `${e.reason} (from ${d.file}:${d.line})` });
        }
        return;
      }
      case 'include':
        this.fail(d, 'Include is not supported: pass every file to the loader');
        return;
      default:
        if (CONFIG_DIRECTIVES.has(name)) {
          this.config.set(d.name, d.args);
          const v = (d.args[0] ?? '').toLowerCase();
          if (name === 'secruleengine') {
            if (v === 'on') this.engine = 'On';
            else if (v === 'off') this.engine = 'Off';
            else if (v === 'detectiononly') this.engine = 'DetectionOnly';
            else this.fail(d, 'SecRuleEngine takes On, Off or DetectionOnly');
          } else if (name === 'secrequestbodyaccess') this.requestBodyAccess = v === 'on';
          else if (name === 'secresponsebodyaccess') this.responseBodyAccess = v === 'on';
          return;
        }
        this.fail(d, `unknown directive ${d.name}`);
    }
  }

  private ids1(d: Directive, args: readonly string[]): (id: number) => boolean {
    try {
      return idMatcher(args);
    } catch (e) {
      return this.fail(d, (e as Error).message);
    }
  }

  private remove(pred: (r: CrsRule) => boolean): void {
    for (let i = this.all.length - 1; i >= 0; i--) {
      const r = this.all[i] as CrsRule;
      if (r.id !== 0 && r.marker === null && pred(r)) {
        this.all.splice(i, 1);
        this.ids.delete(r.id);
      }
    }
  }

  private defaultAction(d: Directive): void {
    const items = splitActions(d.args[0] as string, d.file, d.line);
    const probe = this.blank(d, 0, null);
    this.applyActions(d, probe, items, false);
    const phase = items.find((a) => a.name.toLowerCase() === 'phase');
    if (phase === undefined) this.fail(d, 'SecDefaultAction needs a phase');
    if (probe.disruptive === null || probe.disruptive === 'block') this.fail(d, 'SecDefaultAction needs a disruptive action');
    this.defaults.set(probe.phase, {
      disruptive: probe.disruptive,
      status: probe.status,
      log: probe.log,
      auditlog: probe.auditlog,
      transforms: probe.transformNames,
    });
  }

  private blank(d: Directive, phase: number, marker: string | null): CrsRule {
    return {
      id: 0,
      file: d.file,
      line: d.line,
      phase,
      marker,
      targets: [],
      exclusions: [],
      operator: null,
      transformNames: [],
      transforms: [],
      transformId: 0,
      effects: [],
      disruptive: null,
      blockAs: 'pass',
      allowScope: '',
      status: null,
      redirect: null,
      skip: 0,
      skipAfter: null,
      capture: false,
      multiMatch: false,
      log: true,
      auditlog: true,
      msg: null,
      logdata: null,
      tags: [],
      severity: null,
      ver: null,
      rev: null,
      maturity: null,
      accuracy: null,
      chain: null,
    };
  }

  private rule(d: Directive, vars: string | null, op: string | null, actions: string): void {
    const items = splitActions(actions, d.file, d.line);
    const link = this.open;
    const r = this.blank(d, 2, null);
    let failed: string | null = link?.failed ?? null;
    const phaseItem = items.find((a) => a.name.toLowerCase() === 'phase');
    if (link === null) {
      const p = phaseItem?.value === undefined || phaseItem.value === null ? 2 : phaseOf(phaseItem.value);
      if (p === null) this.fail(d, `bad phase '${phaseItem?.value}'`);
      const def = this.defaults.get(p) ?? BUILTIN_DEFAULT;
      r.phase = p;
      r.blockAs = def.disruptive;
      r.log = def.log;
      r.auditlog = def.auditlog;
      r.status = def.status;
      r.transformNames = [...def.transforms];
    } else {
      r.phase = link.rule.phase;
      if (phaseItem !== undefined) this.fail(d, 'a chained rule may not set a phase');
    }
    try {
      this.applyActions(d, r, items, false);
    } catch (e) {
      if (!(e instanceof CrsUnsupported)) throw e;
      failed ??= e.reason;
    }
    if (link === null && r.id === 0 && r.marker === null) this.fail(d, 'a rule needs an id');
    if (link !== null && r.id !== 0) this.fail(d, 'a chained rule may not have an id');
    if (vars !== null && op !== null) {
      try {
        this.updateTargets(d, r, this.variables(d, vars), null);
      } catch (e) {
        if (!(e instanceof CrsUnsupported)) throw e;
        failed ??= e.reason;
      }
      const spec = parseOperator(op);
      const paramMacro = parseMacro(spec.param);
      const dir = d.file.lastIndexOf('/') < 0 ? '.' : d.file.slice(0, d.file.lastIndexOf('/'));
      let compiled = null;
      try {
        const ctx: OperatorContext = { dir, readFile: this.opts.readFile };
        if (!hasMacro(paramMacro)) compiled = this.opts.operators(spec.name, spec.param, ctx);
        else {
          // validated now, compiled per expansion at run time
          try {
            this.opts.operators(spec.name, spec.param, ctx);
          } catch (e) {
            if (e instanceof CrsUnsupported) throw e;
          }
        }
      } catch (e) {
        if (!(e instanceof CrsUnsupported)) throw new CrsSyntaxError(d.file, d.line, op, `operator @${spec.name}: ${(e as Error).message}`);
        failed ??= `@${spec.name}: ${e.reason}`;
      }
      r.operator = { name: spec.name, param: spec.param, negated: spec.negated, compiled, paramMacro, compile: this.dynamic(spec.name, dir) };
    }
    try {
      r.transforms = this.transforms(r.transformNames);
    } catch (e) {
      if (!(e instanceof CrsUnsupported)) throw e;
      failed ??= e.reason;
    }
    const chained = items.some((a) => a.name.toLowerCase() === 'chain');
    if (link !== null) {
      link.last.chain = r;
      link.last = r;
      link.failed = failed;
    }
    const head = link?.rule ?? r;
    if (chained) {
      this.open = link ?? { rule: r, last: r, failed };
      return;
    }
    this.open = null;
    if (link === null && r.id !== 0 && this.ids.has(r.id)) this.fail(d, `duplicate rule id ${r.id}`);
    const reason = link?.failed ?? failed;
    if (reason !== null) {
      this.unsupported.push({ id: head.id === 0 ? null : head.id, file: head.file, line: head.line, reason });
      return;
    }
    this.all.push(head);
    if (head.id !== 0) this.ids.set(head.id, head);
  }

  /** Compiles an operator whose parameter was expanded at run time, through a bounded cache. */
  private dynamic(name: string, dir: string): (param: string) => CrsOperator {
    const cache = this.dynamicCache;
    const ctx: OperatorContext = { dir, readFile: this.opts.readFile };
    const compile = this.opts.operators;
    return (param) => {
      // a long parameter (a request value copied into TX) is compiled each time, not kept
      if (param.length > DYNAMIC_MAX_PARAM) return compile(name, param, ctx);
      const k = `${name}\u0000${dir}\u0000${param}`;
      let op = cache.get(k);
      if (op === undefined) {
        op = compile(name, param, ctx);
        if (cache.size >= DYNAMIC_CACHE) cache.delete(cache.keys().next().value as string);
        cache.set(k, op);
      }
      return op;
    };
  }

  private transforms(names: readonly string[]): CrsRule['transforms'] {
    const out = [];
    for (const n of names) {
      const f = this.opts.transformations.get(n);
      if (f === undefined) throw new CrsUnsupported(`transformation t:${n} is not available`);
      out.push(f);
    }
    return out;
  }

  private variables(d: Directive, text: string): VariableSpec[] {
    const specs = parseVariables(text, d.file, d.line);
    for (const s of specs) {
      const c = s.collection;
      if (COLLECTIONS.has(c)) continue;
      if (SCALARS.has(c)) {
        if (s.key !== null) this.fail(d, `${c} has no members`);
        continue;
      }
      const why = UNSUPPORTED_VARIABLES[c];
      if (why !== undefined) throw new CrsUnsupported(`variable ${c}: ${why}`);
      this.fail(d, `unknown variable ${c}`);
    }
    return specs;
  }

  private keyMatcher(d: Directive, src: string): KeyMatcher {
    const got = this.keyCache.get(src);
    if (got !== undefined) return got;
    let op: CrsOperator;
    try {
      op = this.opts.operators('rx', `(?i)${src}`, { dir: '.', readFile: this.opts.readFile });
    } catch (e) {
      if (e instanceof CrsUnsupported) throw new CrsUnsupported(`selector /${src}/: ${e.reason}`);
      return this.fail(d, `bad selector regex /${src}/: ${(e as Error).message}`);
    }
    const run = { captures: null };
    const m: KeyMatcher = (key) => op(key, run);
    this.keyCache.set(src, m);
    return m;
  }

  /** Adds targets (and `!` exclusions) to a rule; `replaced` names one target to swap out. */
  private updateTargets(d: Directive, r: CrsRule, specs: readonly VariableSpec[], replaced: VariableSpec | null): void {
    if (replaced !== null) {
      const k = replaced.key?.toLowerCase() ?? null;
      r.targets = r.targets.filter((t) => !(t.collection === replaced.collection && t.key === k && t.count === replaced.count));
    }
    for (const s of specs) {
      if (s.collection === 'XML' && s.key !== null && s.key !== '/*' && s.key !== '//@*') {
        throw new CrsUnsupported(`XML:${s.key}: only the XPath expressions /* and //@* are implemented`);
      }
      const keyRegex = s.regex && s.key !== null ? this.keyMatcher(d, s.key) : null;
      const key = s.regex || s.key === null ? null : s.key.toLowerCase();
      if (s.negated) r.exclusions.push({ collection: s.collection, key, keyRegex });
      else
        r.targets.push({
          collection: s.collection,
          key,
          keyRegex,
          selector: s.key === null ? null : s.regex ? `/${s.key}/` : s.key,
          count: s.count,
          exclusions: [],
        });
    }
  }

  private ctl(d: Directive, value: string): CtlAction {
    const eq = value.indexOf('=');
    if (eq < 0) this.fail(d, `ctl:${value} needs a value`);
    const name = value.slice(0, eq).trim().toLowerCase();
    const v = value.slice(eq + 1).trim();
    if (!CTL_NAMES.has(name)) throw new CrsUnsupported(`ctl:${value.slice(0, eq)} is not implemented`);
    let target: TargetExclusion | null = null;
    if (name.startsWith('ruleremovetarget')) {
      const semi = v.indexOf(';');
      if (semi < 0) this.fail(d, `ctl:${value} needs 'selector;TARGET'`);
      const spec = this.variables(d, v.slice(semi + 1))[0] as VariableSpec;
      target = {
        collection: spec.collection,
        key: spec.regex || spec.key === null ? null : spec.key.toLowerCase(),
        keyRegex: spec.regex && spec.key !== null ? this.keyMatcher(d, spec.key) : null,
      };
      return { name, value: v.slice(0, semi), target };
    }
    if (name === 'ruleremovebyid') this.ids1(d, [v]);
    return { name, value: v, target };
  }

  /** Applies actions to a rule (or, for SecRuleUpdateActionById, replaces the ones given). */
  private applyActions(d: Directive, r: CrsRule, items: readonly ActionItem[], update: boolean): void {
    let unsupported: string | null = null;
    for (const a of items) {
      const name = a.name.toLowerCase();
      const v = a.value;
      const need = (): string => {
        if (v === null) this.fail(d, `action ${a.name} needs a value`);
        return v;
      };
      switch (name) {
        case 'id': {
          const s = need();
          if (!/^\d+$/.test(s) || Number(s) === 0) this.fail(d, `bad id '${s}'`);
          if (!update) r.id = Number(s);
          break;
        }
        case 'phase': {
          const p = phaseOf(need());
          if (p === null) this.fail(d, `bad phase '${v}'`);
          if (!update) r.phase = p;
          break;
        }
        case 'msg':
          r.msg = parseMacro(need());
          break;
        case 'logdata':
          r.logdata = parseMacro(need());
          break;
        case 'tag':
          r.tags.push(need());
          break;
        case 'ver':
          r.ver = need();
          break;
        case 'rev':
          r.rev = need();
          break;
        case 'severity': {
          const s = need();
          const i = /^\d$/.test(s) ? Number(s) : SEVERITIES.indexOf(s.toUpperCase());
          if (i < 0 || i > 7) this.fail(d, `bad severity '${s}'`);
          r.severity = i;
          break;
        }
        case 'maturity':
        case 'accuracy': {
          const s = need();
          if (!/^\d+$/.test(s)) this.fail(d, `bad ${name} '${s}'`);
          r[name] = Number(s);
          break;
        }
        case 't': {
          const s = need().toLowerCase();
          if (s === 'none') r.transformNames = [];
          else r.transformNames.push(s);
          break;
        }
        case 'chain':
          break;
        case 'skip': {
          const s = need();
          if (!/^\d+$/.test(s)) this.fail(d, `bad skip '${s}'`);
          r.skip = Number(s);
          break;
        }
        case 'skipafter':
          r.skipAfter = need();
          break;
        case 'capture':
          r.capture = true;
          break;
        case 'multimatch':
          r.multiMatch = true;
          break;
        case 'pass':
        case 'block':
        case 'deny':
        case 'drop':
          r.disruptive = name;
          break;
        case 'allow': {
          r.disruptive = 'allow';
          const s = (v ?? '').toLowerCase();
          if (s !== '' && s !== 'phase' && s !== 'request') this.fail(d, `bad allow '${v}'`);
          r.allowScope = s;
          break;
        }
        case 'redirect':
          r.disruptive = 'redirect';
          r.redirect = parseMacro(need());
          break;
        case 'status': {
          const s = need();
          if (!/^\d{3}$/.test(s)) this.fail(d, `bad status '${s}'`);
          r.status = Number(s);
          break;
        }
        case 'log':
          r.log = true;
          break;
        case 'nolog':
          r.log = false;
          r.auditlog = false;
          break;
        case 'auditlog':
          r.auditlog = true;
          break;
        case 'noauditlog':
          r.auditlog = false;
          break;
        case 'setvar':
          r.effects.push({ kind: 'setvar', setvar: this.setvar(d, need()) });
          break;
        case 'ctl':
          try {
            r.effects.push({ kind: 'ctl', ctl: this.ctl(d, need()) });
          } catch (e) {
            if (!(e instanceof CrsUnsupported)) throw e;
            unsupported ??= e.reason;
          }
          break;
        case 'expirevar': {
          const s = need();
          const eq = s.indexOf('=');
          const { collection, key } = this.colKey(d, eq < 0 ? s : s.slice(0, eq));
          r.effects.push({ kind: 'expirevar', collection, key: parseMacro(key), seconds: parseMacro(eq < 0 ? '0' : s.slice(eq + 1)) });
          break;
        }
        case 'initcol': {
          const s = need();
          const eq = s.indexOf('=');
          if (eq < 0) this.fail(d, 'initcol needs collection=key');
          const collection = s.slice(0, eq).trim().toLowerCase();
          if (!['ip', 'global', 'resource', 'session', 'user'].includes(collection)) this.fail(d, `initcol: unknown collection ${collection}`);
          r.effects.push({ kind: 'initcol', collection, key: parseMacro(s.slice(eq + 1)) });
          break;
        }
        case 'setsid':
        case 'setuid':
          r.effects.push({ kind: 'initcol', collection: name === 'setsid' ? 'session' : 'user', key: parseMacro(need()) });
          break;
        case 'setenv': {
          const s = need();
          const eq = s.indexOf('=');
          r.effects.push({ kind: 'setenv', name: parseMacro(eq < 0 ? s : s.slice(0, eq)), value: parseMacro(eq < 0 ? '1' : s.slice(eq + 1)) });
          break;
        }
        default: {
          if (IGNORED_ACTIONS.has(name)) break;
          const why = UNSUPPORTED_ACTIONS[name];
          if (why !== undefined) {
            unsupported ??= `action ${a.name}: ${why}`;
            break;
          }
          this.fail(d, `unknown action ${a.name}`);
        }
      }
    }
    if (unsupported !== null) throw new CrsUnsupported(unsupported);
  }

  private colKey(d: Directive, s: string): { collection: string; key: string } {
    const t = s.trim();
    const dot = t.indexOf('.');
    if (dot <= 0) this.fail(d, `'${s}' is not collection.name`);
    const collection = t.slice(0, dot).toLowerCase();
    if (!['tx', 'ip', 'global', 'resource', 'session', 'user'].includes(collection)) this.fail(d, `cannot set variables of collection ${collection}`);
    return { collection, key: t.slice(dot + 1) };
  }

  private setvar(d: Directive, s: string): SetVar {
    let t = s.trim();
    let op: SetVarOp = '=';
    if (t.startsWith('!')) {
      op = '!';
      t = t.slice(1);
    }
    const eq = t.indexOf('=');
    let target = t;
    let value = '1';
    if (op !== '!' && eq >= 0) {
      target = t.slice(0, eq);
      value = t.slice(eq + 1);
      if (value.startsWith('+')) {
        op = '+';
        value = value.slice(1);
      } else if (value.startsWith('-')) {
        op = '-';
        value = value.slice(1);
      }
    }
    const { collection, key } = this.colKey(d, target);
    return { collection, key: parseMacro(key), op, value: parseMacro(value) };
  }
}

/** Loads rule files in order (crs-setup first, then the rules, then exclusions). */
export function loadRuleSet(sources: readonly CrsSource[], opts: CrsLoadOptions): CrsRuleSet {
  const l = new Loader(opts);
  for (const s of sources) l.load(s);
  return l.finish();
}
