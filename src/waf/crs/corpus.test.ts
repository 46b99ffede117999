/**
 * OWASP CRS v4.28.0 itself (../shared/waf-corpus/crs-v4, or $CRS_V4_DIR): every rule file and
 * crs-setup.conf.example load at paranoia levels 1 and 2, and the only rules left out are those
 * whose operator or transformation the small test registry lacks; the initialisation, paranoia
 * skips, anomaly scoring, blocking evaluation and correlation then run as CRS writes them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readCrsFolder, readDataFile } from './files.js';
import type { CrsSettings } from './files.js';
import { loadRuleSet } from './load.js';
import type { CrsRuleSet } from './load.js';
import { evaluateRequest } from './transaction.js';
import { TEST_TRANSFORMATIONS, testOperators } from './testdata/registry.js';
import { testRequest } from './testdata/request.js';
import type { TestInput } from './testdata/request.js';

const DIR = process.env.CRS_V4_DIR ?? fileURLToPath(new URL('../../../../../shared/waf-corpus/crs-v4', import.meta.url));
const skip = existsSync(DIR) ? false : `CRS v4 corpus not found at ${DIR}`;

/** Reasons that only say the test registry lacks something (the real registries provide them). */
const REGISTRY_GAP = /^(transformation t:[a-z0-9]+ is not available|@[a-z0-9]+: test registry: )/;

const cache = new Map<string, CrsRuleSet>();
function crs(settings: CrsSettings): CrsRuleSet {
  const k = JSON.stringify(settings);
  let rs = cache.get(k);
  if (rs === undefined) {
    rs = loadRuleSet(readCrsFolder(DIR, settings), { transformations: TEST_TRANSFORMATIONS, operators: testOperators, readFile: readDataFile });
    cache.set(k, rs);
  }
  return rs;
}

const HEADERS: readonly (readonly [string, string])[] = [
  ['Host', 'localhost'],
  ['User-Agent', 'OWASP CRS test agent'],
  ['Accept', 'text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,image/png,*/*;q=0.5'],
];

function logged(settings: CrsSettings, input: TestInput): { ids: number[]; status: number | null; score: string | undefined } {
  const r = evaluateRequest(crs(settings), testRequest(input), { uniqueId: 'YvDkqP2cs0p7BUzdtRvoxAAAAAM' });
  return { ids: r.matched.filter((m) => m.log).map((m) => m.id), status: r.interruption?.status ?? null, score: r.tx.get('blocking_inbound_anomaly_score') };
}

for (const paranoia of [1, 2]) {
  test(`every CRS v4.28.0 file loads at PL${paranoia}; rules left out lack only a test-registry operator or transformation`, { skip }, () => {
    const rs = crs({ paranoia });
    const other = rs.unsupported.filter((u) => !REGISTRY_GAP.test(u.reason));
    assert.deepEqual(other, []);
    // the registry gaps, for the report
    const gaps = new Map<string, number>();
    for (const u of rs.unsupported) {
      const k = (REGISTRY_GAP.exec(u.reason)?.[0] ?? u.reason).replace(/ is not available$/, '').replace(/: test registry: $/, '');
      gaps.set(k, (gaps.get(k) ?? 0) + 1);
    }
    const regexGaps = rs.unsupported.filter((u) => u.reason.includes('regex not readable')).length;
    console.log(
      `PL${paranoia}: ${rs.byId.size} rules loaded, ${rs.unsupported.length} left out (${regexGaps} for JavaScript regex syntax):`,
      Object.fromEntries(gaps),
    );
    assert.ok(rs.byId.size > 450, `${rs.byId.size} rules loaded`);
    assert.ok(rs.byId.has(901001) === false || rs.byId.has(949110));
    assert.ok(rs.byId.has(949110) && rs.byId.has(980170) && rs.byId.has(901200));
    assert.deepEqual(rs.componentSignatures, ['OWASP_CRS/4.28.0']);
  });
}

test('a plain GET matches no logged rule and is not blocked', { skip }, () => {
  assert.deepEqual(logged({ paranoia: 1 }, { uri: '/?a=1', headers: HEADERS }), { ids: [], status: null, score: '0' });
});

test('a method outside tx.allowed_methods scores 5 at 911100 and 949110 denies it with 403', { skip }, () => {
  const got = logged({ paranoia: 1 }, { method: 'PUT', uri: '/', headers: HEADERS });
  assert.deepEqual(got, { ids: [911100, 949110, 980170], status: 403, score: '5' });
});

test('a raised inbound threshold lets the same request through (scored, not blocked)', { skip }, () => {
  const got = logged({ paranoia: 1, inboundThreshold: 10 }, { method: 'PUT', uri: '/', headers: HEADERS });
  assert.deepEqual(got, { ids: [911100, 980170], status: null, score: '5' });
});

test('a missing User-Agent (920320, paranoia level 2) is skipped at PL1 and scored at PL2', { skip }, () => {
  const input: TestInput = { uri: '/', headers: [HEADERS[0] as [string, string], HEADERS[2] as [string, string]] };
  assert.deepEqual(logged({ paranoia: 1 }, input).ids, []);
  assert.deepEqual(logged({ paranoia: 2 }, input), { ids: [920320, 980170], status: null, score: '2' });
});

test('detection above the blocking level scores without blocking (detection_paranoia_level 2, blocking 1)', { skip }, () => {
  const input: TestInput = { uri: '/', headers: [HEADERS[0] as [string, string], HEADERS[2] as [string, string]] };
  const r = evaluateRequest(crs({ paranoia: 1, detectionParanoia: 2 }), testRequest(input));
  assert.equal(r.interruption, null);
  assert.deepEqual(
    r.matched.filter((m) => m.log).map((m) => m.id),
    [920320, 980170],
  );
  assert.equal(r.tx.get('detection_inbound_anomaly_score'), '2');
  assert.equal(r.tx.get('blocking_inbound_anomaly_score'), '0');
});

test('rule 901 initialises TX from crs-setup and the settings', { skip }, () => {
  const r = evaluateRequest(crs({ paranoia: 2 }), testRequest({ headers: HEADERS }));
  assert.equal(r.tx.get('blocking_paranoia_level'), '2');
  assert.equal(r.tx.get('detection_paranoia_level'), '2');
  assert.equal(r.tx.get('inbound_anomaly_score_threshold'), '5');
  assert.equal(r.tx.get('allowed_methods'), 'GET HEAD POST OPTIONS');
  assert.equal(r.tx.get('crs_setup_version'), '4280');
});

test('a JSON POST is read by the JSON processor and scores nothing at PL1', { skip }, () => {
  const body = '{"user":{"name":"bob"},"tags":["a","b"]}';
  const got = logged(
    { paranoia: 1 },
    { method: 'POST', uri: '/api', headers: [...HEADERS, ['Content-Type', 'application/json'], ['Content-Length', String(body.length)]], body },
  );
  assert.deepEqual(got, { ids: [], status: null, score: '0' });
});
