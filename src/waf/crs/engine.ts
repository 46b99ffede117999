/**
 * The CRS engine as the WAF stage uses it (`waf.engine: crs | both`): a CRS installation loaded
 * once per config snapshot with the real registries (transformations, operators, libinjection),
 * and one verdict per request: blocked or not, the anomaly score, and the rules that matched
 * (those that log: the 901 initialisation and the paranoia-level skips do not).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCrsFolder, readDataFile, type CrsSettings } from './files.js';
import { loadRuleSet, type CrsRuleSet, type CrsSource } from './load.js';
import { CRS_TRANSFORMATIONS } from './transformations/index.js';
import { compileCrsOperator } from './operators/index.js';
import { CrsTransaction, type CrsMatchedRule } from './transaction.js';
import type { CrsRequest, CrsResponseHead } from './model.js';
import { existsSync, readFileSync } from 'node:fs';

export interface CrsEngineOptions extends CrsSettings {
  /** the CRS folder: crs-setup.conf(.example) and rules/ */
  readonly path: string;
  /** SecLang files loaded after the rules (exclusions, SecRuleRemoveById ...), or named like CRS's own exclusion files */
  readonly files?: readonly string[];
  /** run the response phases (the data-leakage rules) */
  readonly inspectResponses?: boolean;
}

/** One rule that matched, for the access log and `waf test`. */
export interface CrsRuleHit {
  readonly id: string;
  readonly message: string;
  readonly tags: readonly string[];
  /** the variables it matched (`ARGS:id`), and the values after its transformations */
  readonly matches: readonly { readonly variable: string; readonly value: string }[];
}

export interface CrsVerdict {
  /** a disruptive action fired (949110, or a user rule's deny) */
  readonly blocked: boolean;
  /** the rule whose action blocked, and the status it asked for */
  readonly blockedBy: string | null;
  readonly status: number;
  /** tx.blocking_inbound_anomaly_score after the request phases */
  readonly score: number;
  readonly hits: readonly CrsRuleHit[];
}

/**
 * Persistent collections: CRS v4 opens IP and GLOBAL (`initcol` in 901) for plugins, and no rule of
 * its own reads them, so each transaction starts them empty and nothing is written per request;
 * a user rule set that counts per client over time would need the state store behind them.
 */
export class CrsEngine {
  constructor(
    readonly rules: CrsRuleSet,
    /** run phases 3 and 4 on responses (`respond`); else the logging phase ends `evaluate` */
    readonly inspectResponses = false,
  ) {}

  /** Phases 1 and 2 (and 5 unless responses are inspected: then `respond` ends the transaction). */
  evaluate(request: CrsRequest): CrsVerdict & { readonly transaction: CrsTransaction | null } {
    const t = new CrsTransaction(this.rules, request);
    if (t.processRequestHeaders() === null) t.processRequestBody();
    const keep = this.inspectResponses && t.interruption === null;
    if (!keep) t.processLogging();
    return { ...verdictOf(t, 0), transaction: keep ? t : null };
  }

  /** Phases 3, 4 and 5 of a transaction `evaluate` kept: what the response made match. */
  respond(t: CrsTransaction, head: CrsResponseHead, body: Buffer): CrsVerdict {
    const before = t.matched.length;
    t.responseBodyAccess = true;
    if (t.processResponseHeaders(head) === null) t.processResponseBody(body.toString('latin1'));
    t.processLogging();
    return verdictOf(t, before);
  }
}

/** The verdict of a transaction: its interruption, score, and the logged rules matched since `from`. */
function verdictOf(t: CrsTransaction, from: number): CrsVerdict {
  const hits: CrsRuleHit[] = [];
  const matched = t.matched;
  for (let k = from; k < matched.length; k++) {
    const m = matched[k] as CrsMatchedRule;
    if (m.log) hits.push(hitOf(m));
  }
  const i = t.interruption;
  return {
    blocked: i !== null,
    blockedBy: i === null ? null : String(i.ruleId),
    status: i?.status ?? 0,
    score: Number(t.tx.get('blocking_inbound_anomaly_score') ?? 0) || 0,
    hits,
  };
}

function hitOf(m: CrsMatchedRule): CrsRuleHit {
  return { id: String(m.id), message: m.message, tags: m.tags, matches: m.matches.map((x) => ({ variable: x.variable, value: x.value })) };
}

/** The CRS release bundled with Portcullis (vendor/crs: v4.28.0, unchanged). */
export const BUNDLED_CRS = fileURLToPath(new URL('../../../../vendor/crs', import.meta.url));

/** Why a CRS folder cannot be loaded (the config names it). */
export class CrsLoadError extends Error {}

/** Loads CRS from `opts.path` at the given paranoia level and thresholds, with the user's extra files. */
export function loadCrs(opts: CrsEngineOptions): CrsEngine {
  if (!existsSync(join(opts.path, 'rules'))) throw new CrsLoadError(`no CRS rules folder at ${join(opts.path, 'rules')}`);
  const extra: CrsSource[] = (opts.files ?? []).map((f) => {
    try {
      return { file: f, text: readFileSync(f, 'latin1') };
    } catch (e) {
      throw new CrsLoadError(`cannot read ${f}: ${(e as Error).message}`);
    }
  });
  const sources = readCrsFolder(opts.path, opts, extra);
  return new CrsEngine(
    loadRuleSet(sources, { transformations: CRS_TRANSFORMATIONS, operators: compileCrsOperator, readFile: readDataFile }),
    opts.inspectResponses ?? false,
  );
}
