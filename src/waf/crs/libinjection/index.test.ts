/**
 * Vectors for the libinjection port: libinjection's own test files (tokens, folding, SQLi
 * fingerprints, HTML5 tokens) and its data/ attack samples with the C library's verdicts
 * (testdata/, made by generate-fixtures.mjs), then the API, bounds and property tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { MAX_INPUT_CHARS, detectSQLi, detectSQLiBytes, detectXSS, detectXSSBytes } from './index.js';
import { FLAG_QUOTE_NONE, FLAG_SQL_ANSI, SqliState, sqliFold, sqliTokenize, type Token } from './sqli.js';
import { H5Flags, H5State, H5_TYPE_NAMES } from './html5.js';
import { SQLI_KEYWORDS } from './sqli-data.js';

// tests run from dist/src/...; the fixtures stay in src/ (tsc copies no data files)
const TESTDATA = new URL('../../../../../src/waf/crs/libinjection/testdata/', import.meta.url);
const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

/** What libinjection's testdriver.c prints for a value: up to its first NUL (C's %s). */
const cstr = (v: string): string => {
  const i = v.indexOf('\0');
  return i === -1 ? v : v.slice(0, i);
};

/** testdriver.c's print_token */
function printToken(t: Token): string {
  const type = String.fromCharCode(t.type);
  const quoted = (): string => (t.strOpen ? String.fromCharCode(t.strOpen) : '') + cstr(t.val) + (t.strClose ? String.fromCharCode(t.strClose) : '');
  if (type === 's') return `${type} ${quoted()}\n`;
  if (type === 'v') return `${type} ${t.count >= 1 ? '@' : ''}${t.count === 2 ? '@' : ''}${quoted()}\n`;
  return `${type} ${cstr(t.val)}\n`;
}

/** testdriver.c's read_file: the output for one test file's input */
function run(name: string, input: Uint8Array): string {
  let out = '';
  if (name.startsWith('test-tokens-')) {
    const sf = new SqliState(input, FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
    while (sqliTokenize(sf)) out += printToken(sf.current);
  } else if (name.startsWith('test-folding-')) {
    const sf = new SqliState(input, FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
    const n = sqliFold(sf);
    for (let i = 0; i < n; i++) out += printToken(sf.tokenvec[i]!);
  } else if (name.startsWith('test-sqli-')) {
    out = detectSQLiBytes(input) ?? '';
  } else if (name.startsWith('test-html5-')) {
    const hs = new H5State(input, H5Flags.DATA_STATE);
    while (hs.next()) {
      const text = Buffer.from(input.subarray(hs.tokenStart, hs.tokenStart + hs.tokenLen)).toString('latin1');
      out += `${H5_TYPE_NAMES[hs.tokenType]},${hs.tokenLen},${cstr(text)}\n`;
    }
  } else {
    throw new Error(`unknown test kind ${name}`);
  }
  return out.replace(/[ \n\t\r]+$/, '');
}

const upstream = JSON.parse(readFileSync(new URL('upstream-tests.json', TESTDATA), 'utf8')) as [string, string, string][];

for (const kind of ['tokens', 'folding', 'sqli', 'html5']) {
  const files = upstream.filter(([name]) => name.startsWith(`test-${kind}-`));
  test(`every libinjection test-${kind} file (${files.length}) gives the output libinjection expects`, () => {
    assert.ok(files.length > 40, 'the fixture has the test files');
    const failed = files.filter(([name, input, expected]) => run(name, latin1(input)) !== expected).map(([name]) => name);
    assert.deepEqual(failed, []);
  });
}

interface Sample {
  file: string;
  fingerprint: string | null;
  xss: boolean;
  input: Uint8Array;
}

function readSamples(): Sample[] {
  const out: Sample[] = [];
  let file = '';
  for (const line of readFileSync(new URL('samples.txt', TESTDATA), 'utf8').split('\n')) {
    if (line.startsWith('## ')) file = line.slice(3);
    if (line === '' || line.startsWith('#')) continue;
    const [fp, xss, json] = line.split('\t');
    out.push({ file, fingerprint: fp === '-' ? null : fp!, xss: xss === '1', input: latin1(JSON.parse(json!) as string) });
  }
  return out;
}
const samples = readSamples();

test('every data/ sample gets the fingerprint libinjection_sqli gives it in C', () => {
  assert.ok(samples.length > 4000);
  const wrong = samples.filter((s) => detectSQLiBytes(s.input) !== s.fingerprint);
  assert.deepEqual(
    wrong.map((s) => s.file),
    [],
  );
  // the suite is not trivially negative: most SQLi samples are detected, most false positives are not
  const sqli = samples.filter((s) => s.file.startsWith('sqli-'));
  assert.ok(sqli.filter((s) => s.fingerprint !== null).length > sqli.length * 0.9);
  const benign = samples.filter((s) => s.file === 'false_positives');
  assert.ok(benign.filter((s) => s.fingerprint === null).length > benign.length * 0.9);
});

test('every data/ sample gets the verdict libinjection_xss gives it in C', () => {
  const wrong = samples.filter((s) => detectXSSBytes(s.input) !== s.xss);
  assert.deepEqual(
    wrong.map((s) => s.file),
    [],
  );
  const xss = samples.filter((s) => s.file.startsWith('xss-'));
  assert.ok(xss.filter((s) => s.xss).length > xss.length * 0.9);
});

const API_VECTORS: readonly [string, string | null, boolean][] = [
  ["1' or '1'='1", 's&sos', false],
  ["x' or 1=1--", 's&1c', false],
  ['1 union select * from users', '1UEok', false],
  ['-1; DROP TABLE users', '1;Tnn', false],
  ['hello world', null, false],
  ["O'Reilly", null, false],
  ['<script>alert(1)</script>', null, true],
  ['<img src=x onerror=alert(1)>', null, true],
  ['<a href="javascript:alert(1)">x</a>', null, true],
  ['<a href="https://example.com/">x</a>', null, false],
  ['" onmouseover="alert(1)', null, true],
  ['<!DOCTYPE html>', null, true],
  ['1 < 2 and 3 > 2', '1&1', false],
  // U+00A0 is white space to libinjection only as the single byte A0, never as UTF-8's C2 A0
  ["'\u00a0or\u00a01=1--", null, false],
  ['', null, false],
];

for (const [input, fingerprint, xss] of API_VECTORS) {
  const shown = JSON.stringify(input).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  test(`detectSQLi(${shown}) is ${JSON.stringify(fingerprint)} and detectXSS is ${xss}`, () => {
    assert.equal(detectSQLi(input), fingerprint);
    assert.equal(detectXSS(input), xss);
  });
}

test('the same text as latin1 bytes is SQLi: values are handed over as UTF-8 bytes, as ModSecurity does', () => {
  assert.equal(detectSQLiBytes(latin1("'\u00a0or\u00a01=1--")), 's&1c');
  assert.equal(detectSQLi("'\u00a0or\u00a01=1--"), null);
});

test('the keyword table holds all 9352 entries of libinjection_sqli_data.h, fingerprints included', () => {
  const lines = SQLI_KEYWORDS.split('\n');
  assert.equal(lines.length, 9352);
  for (const entry of ['F0S&SOS', 'F0S&1C', 'ESELECT', 'UUNION ALL', 'o!=']) assert.ok(lines.includes(entry), entry);
});

test('only the first MAX_INPUT_CHARS of a value are inspected', () => {
  const attack = "' or 1=1--";
  assert.equal(detectSQLi(`${attack}${' '.repeat(MAX_INPUT_CHARS)}`), 's&1c');
  assert.equal(detectSQLi(`${'a'.repeat(MAX_INPUT_CHARS)} ${attack}`), null);
  assert.equal(detectXSS(`${'a'.repeat(MAX_INPUT_CHARS)}<script>`), false);
});

test('inputs built to be slow finish in linear time at the maximum size', { timeout: 20000 }, () => {
  const n = MAX_INPUT_CHARS;
  const inputs = [
    `$${'a'.repeat(n / 2)}$${'a'.repeat(n / 2 - 2)}`, // $tag$ string search (quadratic with a naive memmem)
    `'${'\\'.repeat(n - 2)}'`,
    `'${"\\'".repeat(n / 2 - 1)}`,
    '/*'.repeat(n / 2),
    '<!--'.repeat(n / 4),
    '<a '.repeat(n / 3),
    '<a onabc'.repeat(n / 8), // each attribute compared with the 299 event names
    `<a ${'onclic '.repeat(n / 7)}`,
    '&#x'.repeat(n / 3),
    '1+'.repeat(n / 2),
    '-'.repeat(n),
    '\0-'.repeat(n / 2),
  ];
  for (const input of inputs) {
    const t0 = process.hrtime.bigint();
    detectSQLi(input);
    detectXSS(input);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.ok(ms < 2000, `${JSON.stringify(input.slice(0, 12))}... took ${ms} ms`);
  }
});

const FINGERPRINT = /^[kUBEtfn1vso&cA(){}.,:;T?X\\]{1,5}$/;

test('random strings never throw, and a result is a fingerprint of up to 5 token types', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
      const fp = detectSQLi(s);
      assert.ok(fp === null || FINGERPRINT.test(fp), String(fp));
      assert.equal(typeof detectXSS(s), 'boolean');
      assert.equal(fp, detectSQLiBytes(new Uint8Array(Buffer.from(s, 'utf8'))));
    }),
    { numRuns: 2000 },
  );
});

test('random bytes never throw', () => {
  const tokens = ["'", '"', '`', '/*', '*/', '--', '#', '$$', '$a$', '@@', '\\N', '0x', "q'[", '<!--', '<a ', ' on', '=', '&#x', '\0', '\xff'];
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.constantFrom(...tokens.map(latin1))), { maxLength: 40 }), (parts) => {
      const b = new Uint8Array(Buffer.concat(parts));
      const fp = detectSQLiBytes(b);
      assert.ok(fp === null || FINGERPRINT.test(fp), String(fp));
      assert.equal(typeof detectXSSBytes(b), 'boolean');
    }),
    { numRuns: 3000 },
  );
});
