/** Table-driven vectors for every transformation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TRANSFORMATIONS, compileChain } from './index.js';

const VECTORS: readonly [string, string, string][] = [
  // [transformation, input, expected]
  ['urlDecode', '%27%20OR%201%3D1', "' OR 1=1"],
  ['urlDecode', 'a+b%2', 'a+b%2'],
  ['urlDecode', '%u0041%uFF1C', 'A\uff1c'],
  ['urlDecode', '%C3%A9t%C3%A9', 'été'],
  ['urlDecodePlus', 'a+b', 'a b'],
  ['htmlEntityDecode', '&lt;script&gt;', '<script>'],
  ['htmlEntityDecode', '&#60;&#x3C;&#X3c', '<<<'],
  ['htmlEntityDecode', 'ja&Tab;vascript&colon;', 'ja\tvascript:'],
  ['htmlEntityDecode', 'AT&T &unknown;', 'AT&T &unknown;'],
  ['jsDecode', '\\x3cscript\\x3e', '<script>'],
  ['jsDecode', '\\u003c\\u{3e}', '<>'],
  ['jsDecode', '\\074\\n', '<\n'],
  ['jsDecode', 'c\\at', 'cat'],
  ['unicodeFold', '\uff1cscript\uff1e', '<script>'],
  ['unicodeFold', 'plain ascii', 'plain ascii'],
  ['decodeAll', '%253Cscript%253E', '<script>'],
  ['decodeAll', '%26lt%3Bsvg%26gt%3B', '<svg>'],
  ['decodeAll', '%5Cx3c', '<'],
  ['decodeAll', 'nothing to do', 'nothing to do'],
  ['lowercase', 'SeLeCt', 'select'],
  ['removeNulls', 'a\0b\0', 'ab'],
  ['compressWhitespace', 'a \t\n b  c', 'a b c'],
  ['removeWhitespace', 'java\tscript :', 'javascript:'],
  ['removeComments', 'UNION/**/SELECT', 'UNION SELECT'],
  ['removeComments', '1 -- comment\n2', '1  2'],
  ['removeCommentsChar', 'UN/**/ION SEL/*x*/ECT', 'UNION SELECT'],
  ['removeCommentsChar', '/*!50000select*/', 'select'],
  ['cmdLine', 'c\'\'at /et""c/pa\\sswd', 'cat /etc/passwd'],
  ['cmdLine', 'cat${IFS}/etc/passwd', 'cat /etc/passwd'],
  ['cmdLine', "I'd like it", "i'd like it"],
  ['cmdLine', 'W^H^O^A^M^I', 'whoami'],
  ['normaliseSlashes', '..\\..\\boot.ini', '../../boot.ini'],
  ['normalisePath', '/a/./b/../c//d', '/a/c/d'],
  ['normalisePath', '../../etc/passwd', '../../etc/passwd'],
  ['base64Decode', 'cm8wQUJ0ZXN0', 'ro0ABtest'],
  ['base64Decode', 'not base64!', ''],
  ['base64DecodeAligned', 'HJ1bnRpbWU', 'runtime'],
  ['hexDecode', '0x61646d696e', 'admin'],
  ['hexDecode', 'xyz', ''],
];

for (const [name, input, expected] of VECTORS) {
  test(`${name} turns ${JSON.stringify(input)} into a value containing ${JSON.stringify(expected)}`, () => {
    const f = TRANSFORMATIONS[name];
    assert.ok(f, `transformation ${name} exists`);
    const out = f(input);
    if (name === 'base64DecodeAligned') assert.ok(out.includes(expected), JSON.stringify(out));
    else assert.equal(out, expected);
  });
}

test('a chain applies its transformations in order', () => {
  assert.equal(compileChain(['decodeAll', 'lowercase'])('%3CSCRIPT%3E'), '<script>');
});

test('a chain with an unknown transformation is refused at compile time', () => {
  assert.throws(() => compileChain(['nope']), /unknown transformation/);
});

test('decodeAll stops after a bounded number of rounds on deeply nested encodings', () => {
  let v = '<';
  for (let i = 0; i < 10; i++) v = encodeURIComponent(v);
  const out = TRANSFORMATIONS['decodeAll']!(v);
  assert.notEqual(out, '<', 'ten levels are not fully decoded');
  assert.ok(out.length < v.length);
});
