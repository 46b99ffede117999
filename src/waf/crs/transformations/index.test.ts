/** ModSecurity's vectors for every CRS transformation, plus cases the vectors do not cover. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRS_TRANSFORMATIONS } from './index.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const TESTDATA = join(ROOT, 'src/waf/crs/transformations/testdata');
export const CRS_RULES = join(ROOT, '..', 'shared', 'waf-corpus', 'crs-v4', 'rules');

/**
 * A JSON vector string as bytes, read as Coraza's harness reads it: its UTF-8 encoding, a literal
 * `\u0000` is NUL, and a string holding `\x` is a C string literal (an unknown `\C` is C).
 */
function bytes(s: string): string {
  const b = Buffer.from(s, 'utf8').toString('latin1').replaceAll('\\u0000', '\0');
  if (!b.includes('\\x')) return b;
  const out = b.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (e[0] === 'u') return Buffer.from(String.fromCharCode(parseInt(e.slice(1), 16)), 'utf8').toString('latin1');
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(parseInt(e, 8) & 0xff);
    return GO_ESCAPES[e] ?? e;
  });
  return out;
}

const GO_ESCAPES: Readonly<Record<string, string>> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', "'": "'", '"': '"' };

interface Vector {
  readonly input: string;
  readonly output: string;
  readonly name: string;
}

const files = readdirSync(TESTDATA).filter((f) => f.endsWith('.json'));
for (const file of files) {
  const vectors = JSON.parse(readFileSync(join(TESTDATA, file), 'utf8')) as Vector[];
  const name = file.slice(0, -5);
  test(`t:${name} gives ModSecurity's output for its ${vectors.length} vectors`, () => {
    const t = CRS_TRANSFORMATIONS.get(name.toLowerCase());
    assert.ok(t !== undefined, `t:${name} is registered`);
    for (const v of vectors) {
      const out = t(bytes(v.input));
      assert.equal(JSON.stringify(out), JSON.stringify(bytes(v.output)), `input ${JSON.stringify(v.input)}`);
    }
  });
}

const OWN: readonly [string, string, string][] = [
  ['htmlEntityDecode', '&lt;script&gt;&#x41;&#66&QUOT;&nbsp;&foo;&#;', '<script>AB"\xa0&foo;&#;'],
  ['htmlEntityDecode', '&#x3c;&#0060;&#x10041;&#99999999999999999999;', '<<A\xff'],
  ['htmlEntityDecode', '&eacute;&', '&eacute;&'],
  ['urlDecodeUni', '%u0041%uff1c%u2215%u00e9%zz%u12%', 'A<\x15e%zz%u12%'],
  ['urlDecodeUni', 'a+b%2B%c3%a9', 'a b+\xc3\xa9'],
  ['urlDecode', '%u0041+%41%4', '%u0041 A%4'],
  ['utf8toUnicode', 'a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff\xc3', 'a%u00e9%u20ac%u1f600\xff\xc3'],
  ['utf8toUnicode', '\xc0\xaf', '\xc0\xaf'],
  ['lowercase', 'ABC\xc9z', 'abc\xc9z'],
  ['upperCase', 'abc\xe9Z', 'ABC\xe9Z'],
  ['cmdLine', 'C:\\Windows ; DIR /s, "x" ^a (b)', 'c:windows dir/s x a(b)'],
  ['compressWhitespace', 'a \t\n\xa0b  c\xc2\xa0', 'a b c\xc2 '],
  ['removeWhitespace', ' a\tb\xa0c\x0b', 'abc'],
  ['length', 'caf\xc3\xa9', '5'],
  ['hexEncode', '\x00\xff<', '00ff3c'],
  ['jsDecode', '\\u0041\\uFF1C\\x41\\101\\477\\n\\q\\', "A<AA'7\nq\\"],
  ['cssDecode', '\\3c script\\3E\\\nx\\', '<script>x'],
  ['escapeSeqDecode', '\\x41\\101\\n\\q\\', 'AA\nq\\'],
  ['normalizePath', '/a/b/../../../etc/./passwd', '/etc/passwd'],
  ['normalizePathWin', 'c:\\a\\..\\b\\', 'c:/b/'],
  ['none', 'AbC', 'AbC'],
  ['trim', ' \t a b \r\n', 'a b'],
];

for (const [name, input, output] of OWN) {
  test(`t:${name} turns ${JSON.stringify(input)} into ${JSON.stringify(output)}`, () => {
    const t = CRS_TRANSFORMATIONS.get(name.toLowerCase());
    assert.ok(t !== undefined);
    assert.equal(t(input), output);
  });
}

test('t:sha1 then t:hexEncode gives the hex digest of the bytes', () => {
  const sha1 = CRS_TRANSFORMATIONS.get('sha1')!;
  const hex = CRS_TRANSFORMATIONS.get('hexencode')!;
  assert.equal(hex(sha1('abc')), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(hex(CRS_TRANSFORMATIONS.get('md5')!('abc')), '900150983cd24fb0d6963f7d28e17f72');
});

test('decoders stay linear and never throw on long hostile input', () => {
  const hostile = '%u%%\\u\\x&#x&#\\'.repeat(20_000);
  for (const [name, t] of CRS_TRANSFORMATIONS) {
    const start = performance.now();
    assert.doesNotThrow(() => t(hostile), name);
    assert.ok(performance.now() - start < 1000, `${name} took too long`);
  }
});

test('every t: name in the CRS v4 rule files is registered', () => {
  const names = new Set<string>();
  for (const f of readdirSync(CRS_RULES).filter((x) => x.endsWith('.conf'))) {
    const text = readFileSync(join(CRS_RULES, f), 'utf8');
    for (const line of text.split('\n')) {
      if (line.trimStart().startsWith('#')) continue;
      for (const m of line.matchAll(/\bt:([a-zA-Z0-9]+)/g)) names.add(m[1]!);
    }
  }
  assert.ok(names.size >= 20, `found ${names.size} names`);
  const missing = [...names].filter((n) => !CRS_TRANSFORMATIONS.has(n.toLowerCase()));
  assert.deepEqual(missing, []);
});
