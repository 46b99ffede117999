/**
 * A slice of CRS v4.28.0's own regression suite (go-ftw YAML) run through the interpreter with the
 * test registry, for rules that exercise its machinery: chains and MATCHED_VARS (944120), macro
 * operator parameters (911100), counting (920280), the forced body variable (920640), FILES and
 * multipart part headers (920120, 922110), the response phases (951110, 954100) and blocking
 * evaluation (949110). Each stage's expected and unexpected rule ids are checked; stages needing
 * what this harness cannot send are listed with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Buffer } from 'node:buffer';
import { parse } from 'yaml';
import { crsRequestFromParts } from './adapter.js';
import { readCrsFolder, readDataFile } from './files.js';
import type { CrsSettings } from './files.js';
import { loadRuleSet } from './load.js';
import type { CrsRuleSet } from './load.js';
import { CrsTransaction } from './transaction.js';
import { TEST_TRANSFORMATIONS, testOperators } from './testdata/registry.js';

const DIR = process.env.CRS_V4_DIR ?? fileURLToPath(new URL('../../../../../shared/waf-corpus/crs-v4', import.meta.url));
const TESTS = join(DIR, 'tests/regression/tests');
const skip = existsSync(TESTS) ? false : `CRS v4 regression tests not found at ${TESTS}`;

const RULES = [911100, 920170, 920280, 920640, 920120, 922110, 944120, 949110, 951110, 954100];

/** Stages this harness cannot reproduce, and why. */
const OVERRIDES: Readonly<Record<string, string>> = {
  '920640-5': 'needs a body without Content-Length (HTTP/2 framing); go-ftw sends one over HTTP/1.1',
};

interface Stage {
  readonly input: {
    readonly method?: string;
    readonly uri?: string;
    readonly headers?: Readonly<Record<string, unknown>>;
    readonly data?: unknown;
    readonly encoded_request?: string;
  };
  readonly output: { readonly log?: { readonly expect_ids?: readonly number[]; readonly no_expect_ids?: readonly number[] } };
}

interface TestFile {
  readonly rule_id: number;
  readonly tests: readonly { readonly test_id: number; readonly stages: readonly Stage[] }[];
}

function file(id: number): TestFile | null {
  for (const dir of readdirSync(TESTS)) {
    const p = join(TESTS, dir, `${id}.yaml`);
    if (existsSync(p)) return parse(readFileSync(p, 'utf8')) as TestFile;
  }
  return null;
}

const sets = new Map<string, CrsRuleSet>();
function rules(settings: CrsSettings): CrsRuleSet {
  const k = JSON.stringify(settings);
  let rs = sets.get(k);
  if (rs === undefined) {
    rs = loadRuleSet(readCrsFolder(DIR, settings), { transformations: TEST_TRANSFORMATIONS, operators: testOperators, readFile: readDataFile });
    sets.set(k, rs);
  }
  return rs;
}

/** The ids of the rules a stage's request matched, as go-ftw reads them from the log. */
function run(rs: CrsRuleSet, stage: Stage): Set<number> {
  const inp = stage.input;
  const headers: [string, string][] = Object.entries(inp.headers ?? {}).map(([k, v]) => [k, String(v)]);
  const data = inp.data === undefined ? undefined : String(inp.data);
  // go-ftw completes Content-Length
  if (data !== undefined && !headers.some(([k]) => k.toLowerCase() === 'content-length')) headers.push(['Content-Length', String(Buffer.byteLength(data))]);
  const req = crsRequestFromParts({ method: inp.method ?? 'GET', uri: inp.uri ?? '/', headers, body: data === undefined ? null : Buffer.from(data, 'utf8') });
  const t = new CrsTransaction(rs, req, { uniqueId: 'YvDkqP2cs0p7BUzdtRvoxAAAAAM' });
  if (t.processRequestHeaders() === null && t.processRequestBody() === null && (inp.uri ?? '').startsWith('/reflect') && data !== undefined) {
    // the test backend answers with the status, headers and body the request names
    const spec = JSON.parse(data) as { status?: number; headers?: Record<string, string>; body?: string; encodedBody?: string };
    const head: [string, string][] = Object.entries(spec.headers ?? {}).map(([k, v]) => [k, String(v)]);
    if (!head.some(([k]) => k.toLowerCase() === 'content-type')) head.push(['Content-Type', 'text/html']);
    const body = spec.encodedBody !== undefined ? Buffer.from(spec.encodedBody, 'base64') : Buffer.from(spec.body ?? '', 'utf8');
    if (t.processResponseHeaders({ status: spec.status ?? 200, protocol: 'HTTP/1.1', headers: head }) === null) t.processResponseBody(body.toString('latin1'));
  }
  t.processLogging();
  return new Set(t.matched.map((m) => m.id));
}

for (const id of RULES) {
  test(`the CRS regression tests of rule ${id} pass (paranoia level 4)`, { skip }, () => {
    const f = file(id);
    assert.ok(f !== null, `tests of ${id}`);
    // the response tests need the request through: the inbound threshold is lifted for them
    const rs = rules(id >= 950000 ? { paranoia: 4, inboundThreshold: 10000 } : { paranoia: 4 });
    assert.ok(rs.byId.has(id), `rule ${id} loads with the test registry`);
    const failures: string[] = [];
    let ran = 0;
    for (const t of f.tests) {
      const name = `${id}-${t.test_id}`;
      if (OVERRIDES[name] !== undefined) continue;
      for (const stage of t.stages) {
        if (stage.input.encoded_request !== undefined) continue;
        const expect = stage.output.log?.expect_ids ?? [];
        const absent = stage.output.log?.no_expect_ids ?? [];
        if ([...expect, ...absent].some((x) => !rs.byId.has(x))) continue;
        ran++;
        const got = run(rs, stage);
        const missing = expect.filter((x) => !got.has(x));
        const extra = absent.filter((x) => got.has(x));
        if (missing.length > 0 || extra.length > 0) failures.push(`${name}: missing ${missing.join(',')} unexpected ${extra.join(',')}`);
      }
    }
    assert.ok(ran > 0, 'some stages ran');
    assert.deepEqual(failures, []);
  });
}
