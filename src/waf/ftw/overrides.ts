/**
 * Overrides files, in go-ftw's platform-overrides format (the CRS suite's `*-overrides.yaml`):
 *
 *   version: "v0.0.0"
 *   meta: { engine: portcullis, platform: node }
 *   test_overrides:
 *     - rule_id: 920100
 *       test_ids: [4]              # none: every test of the rule
 *       stage_ids: [0]             # optional, 0-based: the stages whose output is replaced
 *       reason: "why"
 *       output: { status: 400 }    # replaces the expected output of the stages
 *     - rule_id: 932200
 *       test_ids: [13]
 *       reason: "known failure: ..."
 *       expect_failure: true       # this runner's addition: a known failure, with its reason
 *
 * An override with `output` judges the test against that output instead. An override with
 * `expect_failure: true`, or with no `output` at all (go-ftw then checks nothing: such entries mark
 * known failures in the CRS files), leaves the test's own output: a failure then counts as
 * overridden, and a pass is reported as an unexpected pass (the override can go).
 */
import { parse } from 'yaml';
import { outputOf } from './parse.js';
import type { FtwOutput, FtwTest } from './types.js';

export interface Override {
  readonly ruleId: string;
  /** empty: every test of the rule */
  readonly testIds: readonly number[];
  /** empty: every stage */
  readonly stageIds: readonly number[];
  readonly reason: string;
  readonly output: FtwOutput | null;
  readonly expectFailure: boolean;
}

export interface Overrides {
  readonly engine: string;
  readonly platform: string;
  readonly list: readonly Override[];
}

export const NO_OVERRIDES: Overrides = { engine: '', platform: '', list: [] };

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function numbers(v: unknown, what: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    const n = typeof x === 'string' ? Number(x) : x;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new Error(`${what} must list numbers`);
    return n;
  });
}

/** Parses an overrides file; throws with the file and entry on anything it cannot read. */
export function parseOverrides(text: string, file: string): Overrides {
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true });
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return NO_OVERRIDES;
  if (!isObj(doc)) throw new Error(`${file}: an overrides file must be a mapping`);
  const meta = isObj(doc['meta']) ? doc['meta'] : {};
  const raw = doc['test_overrides'] ?? [];
  if (!Array.isArray(raw)) throw new Error(`${file}: test_overrides must be a list`);
  const list = raw.map((o, i): Override => {
    const where = `${file}: test_overrides[${i}]`;
    if (!isObj(o)) throw new Error(`${where}: must be a mapping`);
    const rid = o['rule_id'];
    if (!((typeof rid === 'number' && Number.isInteger(rid)) || (typeof rid === 'string' && rid !== ''))) throw new Error(`${where}: rule_id is missing`);
    try {
      return {
        ruleId: String(rid),
        testIds: numbers(o['test_ids'], 'test_ids'),
        stageIds: numbers(o['stage_ids'], 'stage_ids'),
        reason: typeof o['reason'] === 'string' ? o['reason'].trim() : '',
        output: isObj(o['output']) ? outputOf(o['output']) : null,
        expectFailure: o['expect_failure'] === true,
      };
    } catch (e) {
      throw new Error(`${where}: ${(e as Error).message}`);
    }
  });
  return { engine: typeof meta['engine'] === 'string' ? meta['engine'] : '', platform: typeof meta['platform'] === 'string' ? meta['platform'] : '', list };
}

/** The override of a test (the last one listed wins, as a later entry refines an earlier one), or null. */
export function overrideFor(o: Overrides, t: Pick<FtwTest, 'ruleId' | 'testId'>): Override | null {
  let found: Override | null = null;
  for (const x of o.list) if (x.ruleId === t.ruleId && (x.testIds.length === 0 || x.testIds.includes(t.testId))) found = x;
  return found;
}

/** The test with the override's output in place of its stages' (every stage, or those of `stage_ids`). */
export function applyOverride(t: FtwTest, o: Override | null): FtwTest {
  const output = o?.output ?? null;
  if (o === null || output === null) return t;
  return { ...t, stages: t.stages.map((s, i) => (o.stageIds.length === 0 || o.stageIds.includes(i) ? { ...s, output } : s)) };
}

/** Whether a failure of the test under this override is a known one (not a run failure). */
export const knownFailure = (o: Override | null): boolean => o !== null && (o.expectFailure || o.output === null);
