/**
 * Plays go-ftw tests against a gateway and judges them: one test at a time, each stage one
 * request on its own connection, its access record found by the request id the gateway returns
 * (or, when no response came, the records that arrived while the stage ran).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AccessRecord } from '../../core/record.js';
import { exchange, type Exchange } from './client.js';
import type { HostedGateway } from './gateway-host.js';
import type { EchoUpstream } from './echo-upstream.js';
import { judge, type Observed } from './judge.js';
import { applyOverride, knownFailure, overrideFor, type Overrides } from './overrides.js';
import { parseFtwFile } from './parse.js';
import { logTextOf, ruleIdsOf } from './records.js';
import { buildRequest } from './request.js';
import { testName, type FtwFile, type FtwOutput, type FtwStage, type FtwTest } from './types.js';

/** How long a record may take to arrive after its response (it is made when the exchange closes). */
const RECORD_WAIT_MS = 1000;
/** After a stage without a response: time for the gateway to finish and record the request. */
const SETTLE_MS = 30;
/** Most test files read from a folder. */
const MAX_FILES = 100_000;

export interface LoadedSuite {
  readonly root: string;
  readonly files: readonly FtwFile[];
  /** files or tests that could not be read, each with its reason */
  readonly errors: readonly string[];
}

function listFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name)) {
        if (out.length >= MAX_FILES) throw new Error(`more than ${MAX_FILES} test files under ${path}`);
        out.push(p);
      }
    }
  };
  walk(path);
  return out;
}

/** Reads every test file under `path` (a file, or a folder searched for *.yaml and *.yml). */
export function loadSuite(path: string): LoadedSuite {
  const root = statSync(path).isDirectory() ? path : join(path, '..');
  const files: FtwFile[] = [];
  const errors: string[] = [];
  for (const f of listFiles(path)) {
    const name = relative(root, f);
    try {
      const parsed = parseFtwFile(readFileSync(f, 'utf8'), name);
      files.push(parsed.file);
      errors.push(...parsed.errors);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  return { root, files, errors };
}

/** go-ftw's selection (runner/run.go needToSkipTest): an include match runs, then exclude, then include. */
export function selected(name: string, include: RegExp | null, exclude: RegExp | null): boolean {
  if (include !== null && include.test(name)) return true;
  if (exclude !== null && exclude.test(name)) return false;
  return include === null || include.test(name);
}

export type Outcome = 'passed' | 'failed' | 'overridden';

export interface Got {
  readonly status: number | null;
  readonly ids: readonly string[];
  readonly error: string | null;
}

/** An expected output as go-ftw writes it (snake_case, empty fields left out): what the report shows. */
export interface ExpectedJson {
  status?: readonly number[];
  response_contains?: string;
  log?: { expect_ids?: readonly string[]; no_expect_ids?: readonly string[]; match_regex?: string; no_match_regex?: string };
  expect_error?: true;
  isolated?: true;
}

export function expectedJson(o: FtwOutput): ExpectedJson {
  const log: NonNullable<ExpectedJson['log']> = {};
  if (o.expectIds.length > 0) log.expect_ids = o.expectIds;
  if (o.noExpectIds.length > 0) log.no_expect_ids = o.noExpectIds;
  if (o.matchRegex !== null) log.match_regex = o.matchRegex;
  if (o.noMatchRegex !== null) log.no_match_regex = o.noMatchRegex;
  return {
    ...(o.status.length > 0 ? { status: o.status } : {}),
    ...(o.responseContains !== null ? { response_contains: o.responseContains } : {}),
    ...(Object.keys(log).length > 0 ? { log } : {}),
    ...(o.expectError ? { expect_error: true as const } : {}),
    ...(o.isolated ? { isolated: true as const } : {}),
  };
}

export interface TestResult {
  readonly test: string;
  readonly file: string;
  readonly outcome: Outcome;
  /** the override's reason, when one applied */
  readonly reason?: string;
  /** a known failure that passed: its override can go */
  readonly unexpectedPass?: boolean;
  /** the first stage that failed (0-based), with what was expected and seen */
  readonly stage?: number;
  readonly expected?: ExpectedJson;
  readonly got?: Got;
  readonly reasons?: readonly string[];
}

export interface FileSummary {
  readonly file: string;
  readonly ruleId: string;
  passed: number;
  failed: number;
  overridden: number;
  total: number;
}

export interface RunReport {
  readonly summary: { passed: number; failed: number; overridden: number; total: number; parse_errors: number; duration_ms: number };
  readonly files: readonly FileSummary[];
  readonly failures: readonly TestResult[];
  readonly overridden: readonly TestResult[];
  readonly parse_errors: readonly string[];
}

export interface RunTarget {
  readonly gateway: HostedGateway;
  readonly upstream: EchoUpstream;
}

export interface RunOptions {
  readonly overrides: Overrides;
  readonly include: RegExp | null;
  readonly exclude: RegExp | null;
  /** per stage, for the whole exchange */
  readonly timeoutMs: number;
  readonly onResult?: (r: TestResult) => void;
}

function merge(records: readonly AccessRecord[]): { ids: string[]; log: string } {
  const ids: string[] = [];
  let log = '';
  for (const r of records) {
    for (const id of ruleIdsOf(r)) if (!ids.includes(id)) ids.push(id);
    log += logTextOf(r);
  }
  return { ids, log };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Plays one stage and returns what was seen. */
async function play(target: RunTarget, stage: FtwStage, jar: Map<string, string>, timeoutMs: number): Promise<{ observed: Observed; ex: Exchange }> {
  const { gateway, upstream } = target;
  const input = stage.input;
  if (input.response !== null) upstream.expect(input.method, input.uri, input.response);
  const cookies = jar.size === 0 ? null : [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const mark = gateway.records.mark();
  const ex = await exchange(gateway.port, buildRequest(input, cookies), input.method, timeoutMs);
  if (input.response !== null) upstream.expect(input.method, input.uri, null);
  let records: AccessRecord[] = [];
  const id = ex.ok ? ex.response.headers.find(([k]) => k === gateway.requestIdHeader)?.[1] : undefined;
  if (id !== undefined) {
    const r = await gateway.records.waitFor(id, RECORD_WAIT_MS);
    if (r !== null) records = [r];
  }
  if (records.length === 0) {
    await sleep(SETTLE_MS);
    records = gateway.records.since(mark);
  }
  if (ex.ok && input.saveCookie) {
    for (const [k, v] of ex.response.headers) {
      if (k !== 'set-cookie') continue;
      const pair = v.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
  const { ids, log } = merge(records);
  const observed: Observed = ex.ok
    ? { error: null, status: ex.response.status, response: ex.response.text, ruleIds: ids, log }
    : { error: ex.error, status: null, response: '', ruleIds: ids, log };
  return { observed, ex };
}

/** Runs one test (its override applied) and judges it. */
export async function runTest(target: RunTarget, file: string, test: FtwTest, opts: RunOptions): Promise<TestResult> {
  const name = testName(test);
  const ov = overrideFor(opts.overrides, test);
  const t = applyOverride(test, ov);
  const jar = new Map<string, string>();
  let failure: Omit<TestResult, 'test' | 'file' | 'outcome'> | null = null;
  for (let i = 0; i < t.stages.length && failure === null; i++) {
    const stage = t.stages[i] as FtwStage;
    let { observed } = await play(target, stage, jar, opts.timeoutMs);
    let verdict = judge(stage.output, observed);
    if (!verdict.pass && stage.output.retryOnce) {
      ({ observed } = await play(target, stage, jar, opts.timeoutMs));
      verdict = judge(stage.output, observed);
    }
    if (!verdict.pass)
      failure = {
        stage: i,
        expected: expectedJson(stage.output),
        got: { status: observed.status, ids: observed.ruleIds, error: observed.error },
        reasons: verdict.reasons,
      };
  }
  const why = ov !== null ? { reason: ov.reason } : {};
  if (failure === null) {
    if (ov !== null && ov.output === null) return { test: name, file, outcome: 'passed', ...why, unexpectedPass: true };
    return { test: name, file, outcome: ov !== null ? 'overridden' : 'passed', ...why };
  }
  return { test: name, file, outcome: knownFailure(ov) ? 'overridden' : 'failed', ...why, ...failure };
}

/** Runs every selected test of the suite, one at a time, and summarises. */
export async function runSuite(target: RunTarget, suite: LoadedSuite, opts: RunOptions): Promise<RunReport> {
  const t0 = Date.now();
  const files: FileSummary[] = [];
  const failures: TestResult[] = [];
  const overridden: TestResult[] = [];
  const total = { passed: 0, failed: 0, overridden: 0, total: 0 };
  for (const f of suite.files) {
    const s: FileSummary = { file: f.file, ruleId: f.ruleId, passed: 0, failed: 0, overridden: 0, total: 0 };
    for (const test of f.tests) {
      if (!selected(testName(test), opts.include, opts.exclude)) continue;
      const r = await runTest(target, f.file, test, opts);
      opts.onResult?.(r);
      s[r.outcome]++;
      s.total++;
      total[r.outcome]++;
      total.total++;
      if (r.outcome === 'failed') failures.push(r);
      else if (r.outcome === 'overridden' || r.unexpectedPass) overridden.push(r);
    }
    if (s.total > 0) files.push(s);
  }
  return {
    summary: { ...total, parse_errors: suite.errors.length, duration_ms: Date.now() - t0 },
    files,
    failures,
    overridden,
    parse_errors: suite.errors,
  };
}

/** The summary as text: one line per rule file, then the totals. */
export function summaryText(r: RunReport): string {
  const lines = r.files.map(
    (f) => `${f.failed > 0 ? 'FAIL' : 'ok  '} ${f.file}  passed ${f.passed}  failed ${f.failed}  overridden ${f.overridden}  total ${f.total}`,
  );
  const s = r.summary;
  lines.push('');
  for (const e of r.parse_errors) lines.push(`parse error: ${e}`);
  lines.push(
    `passed ${s.passed}  failed ${s.failed}  overridden ${s.overridden}  total ${s.total}  parse errors ${s.parse_errors}  (${(s.duration_ms / 1000).toFixed(1)} s)`,
  );
  return `${lines.join('\n')}\n`;
}
