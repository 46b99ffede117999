/** ModSecurity's vectors for the CRS operators, plus cases the vectors do not cover. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CrsUnsupported, type OperatorContext, type OperatorRun } from '../contract.js';
import { compileCrsOperator } from './index.js';
import { stoi } from './compare.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const TESTDATA = join(ROOT, 'src/waf/crs/operators/testdata');

/** A JSON vector string as bytes: its UTF-8 encoding, a literal `\u0000` or `\0` as NUL, `\xHH` as one byte. */
function bytes(s: string): string {
  return Buffer.from(s, 'utf8')
    .toString('latin1')
    .replaceAll('\\u0000', '\0')
    .replaceAll('\\0', '\0')
    .replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function files(map: Record<string, string>): OperatorContext {
  return {
    dir: '/rules',
    readFile: (p) => {
      const text = map[p];
      if (text === undefined) throw new Error(`no file ${p}`);
      return text;
    },
  };
}

const NO_FILES = files({});
const run = (): OperatorRun => ({ captures: null });

interface Vector {
  readonly param?: string;
  readonly input: string;
  readonly ret: number;
  readonly name: string;
}

for (const file of readdirSync(TESTDATA).filter((f) => f.endsWith('.json'))) {
  const vectors = JSON.parse(readFileSync(join(TESTDATA, file), 'utf8')) as Vector[];
  const name = file.slice(0, -5);
  test(`@${name} gives ModSecurity's answer for its ${vectors.length} vectors`, () => {
    for (const v of vectors) {
      const op = compileCrsOperator(name.toLowerCase(), bytes(v.param ?? ''), NO_FILES);
      assert.equal(op(bytes(v.input), run()), v.ret === 1, `param ${JSON.stringify(v.param)} input ${JSON.stringify(v.input)}`);
    }
  });
}

const OWN: readonly [string, string, string, boolean][] = [
  ['eq', '12', '12abc', true],
  ['eq', '0', 'abc', true],
  ['gt', '5', ' +7', true],
  ['lt', '0', '-3', true],
  ['ge', '0', '99999999999', true],
  ['le', '1', '1', true],
  ['beginswith', 'GET', 'GET /', true],
  ['beginswith', 'GET /x', 'GET', false],
  ['endswith', '.php', 'a.php', true],
  ['streq', 'POST', 'post', false],
  ['within', 'GET POST HEAD', 'POST', true],
  ['within', 'GET POST HEAD', 'PUT', false],
  ['pm', 'Android AppleWebKit', 'mozilla applewebkit/537', true],
  ['pm', 'Android AppleWebKit', 'curl/8', false],
  ['pm', 'caf\xc3\xa9', 'CAF\xc3\xa9', true],
  ['pm', 'caf\xc3\xa9', 'CAF\xc3\x89', false],
  ['validatebyterange', '32-126', 'abc\x7f', true],
  ['validatebyterange', '20,45-47,48-57,65-90,95,97-122', 'a_Z-0', false],
  ['validatebyterange', '1-255', 'a\0b', true],
  ['validateurlencoding', '', 'a%2fb%zz', true],
  ['validateurlencoding', '', 'a%2fb%4', true],
  ['validateurlencoding', '', 'a%2Fb', false],
  ['validateutf8encoding', '', 'caf\xc3\xa9', false],
  ['validateutf8encoding', '', '\xc0\xaf', true],
  ['validateutf8encoding', '', '\xed\xa0\x80', true],
  ['validateutf8encoding', '', '\xc3', true],
  ['ipmatch', '127.0.0.1,::1', '127.0.0.1', true],
  ['ipmatch', '127.0.0.1,::1', '::1', true],
  ['ipmatch', '10.0.0.0/8, 192.168.1.0/24', '192.168.2.1', false],
  ['ipmatch', '10.0.0.0/8', 'not an ip', false],
  ['unconditionalmatch', '', 'x', true],
  ['nomatch', '', 'x', false],
  ['containsword', 'select', 'a select b', true],
  ['containsword', 'select', 'selection', false],
  ['rx', '(?i)^up', 'UPLOAD', true],
  ['rx', '^(?i)up', 'Upload', true],
  ['rx', 'x$', 'ax\nb', true],
  ['rx', '^\\d+$', '12\r', false],
  ['rx', '^\\d+$', '12\n', true],
  ['rx', '\\x{bc}[^>\\x{be}]*[>\\x{be}]', 'a\xbcscript\xbe', true],
  ['rx', '\\s', '\xa0', false],
  ['rx', '(?i)caf\xc3\xa9', 'CAF\xc3\xa9', true],
  ['rx', '(?i)caf\xc3\xa9', 'CAF\xc3\x89', false],
  ['rx', '[[:alpha:]]+[[:digit:]]', '--ab1', true],
  ['rx', 'a.b', 'a\nb', true],
];

for (const [name, param, input, expected] of OWN) {
  test(`@${name} ${JSON.stringify(param)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(input)}`, () => {
    assert.equal(compileCrsOperator(name, param, NO_FILES)(input, run()), expected);
  });
}

test('std::stoi semantics: leading digits count, garbage and overflow give 0', () => {
  assert.deepEqual(['12abc', ' -4', 'abc', '', '2147483648', '+0012'].map(stoi), [12, -4, 0, 0, 0, 12]);
});

test('@rx with capture writes the match and groups 1..9, CR restored, at most 10 entries', () => {
  const op = compileCrsOperator('rx', '^(a)(b)?(c)(d)(e)(f)(g)(h)(i)(j)(k)', NO_FILES);
  const r: OperatorRun = { captures: [] };
  assert.equal(op('acdefghijk', r), true);
  assert.deepEqual(r.captures, ['acdefghijk', 'a', '', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
  const cr = compileCrsOperator('rx', '^x(\\r\\n.)$', NO_FILES);
  const r2: OperatorRun = { captures: [] };
  assert.equal(cr('x\r\nA', r2), true);
  assert.deepEqual(r2.captures, ['x\r\nA', '\r\nA']);
});

test('@pm with capture writes the phrase as it appears in the value', () => {
  const r: OperatorRun = { captures: [] };
  assert.equal(compileCrsOperator('pm', 'passwd shadow', NO_FILES)('/etc/PassWD', r), true);
  assert.deepEqual(r.captures, ['PassWD']);
});

test('@pmFromFile reads the phrases beside the rule file, skipping comments and blank lines', () => {
  const ctx = files({ '/rules/a.data': '# comment\n\n  .htaccess \r\nweb.config\n', '/abs/b.data': 'boot.ini\n' });
  const op = compileCrsOperator('pmfromfile', 'a.data /abs/b.data', ctx);
  assert.equal(op('/x/.HTACCESS', run()), true);
  assert.equal(op('/c/boot.ini', run()), true);
  assert.equal(op('# comment', run()), false);
  assert.throws(() => compileCrsOperator('pmfromfile', 'missing.data', ctx), /no file/);
  assert.throws(() => compileCrsOperator('pmfromfile', 'https://x/y.data', ctx), CrsUnsupported);
});

test('@ipMatchFromFile reads one range per line; a bad range is refused with the reason', () => {
  const ctx = files({ '/rules/ips.data': '10.0.0.0/8\n# x\n2001:db8::/32\n', '/rules/bad.data': '10.0.0.300\n' });
  const op = compileCrsOperator('ipmatchfromfile', 'ips.data', ctx);
  assert.equal(op('10.9.9.9', run()), true);
  assert.equal(op('2001:db8::1', run()), true);
  assert.equal(op('11.0.0.1', run()), false);
  assert.throws(() => compileCrsOperator('ipmatchfromfile', 'bad.data', ctx), /not an IP/);
});

test('@detectSQLi and @detectXSS are libinjection on the value bytes: the fingerprint goes to capture 0', () => {
  const sqli = compileCrsOperator('detectsqli', '', NO_FILES);
  const run = { captures: [] as string[] };
  assert.equal(sqli("1' OR '1'='1", run), true);
  assert.match(String(run.captures[0]), /^[a-z&1()=;,.\-+*\/|^!~:?@`sbnkoTtv]+$/i);
  assert.equal(sqli('hello world', { captures: null }), false);
  // U+00A0 as a byte (a latin1 char) is whitespace to libinjection, as the byte 0xA0 is to ModSecurity
  assert.equal(sqli("'\u00a0or\u00a01=1--", { captures: null }), true);
  const xss = compileCrsOperator('detectxss', '', NO_FILES);
  assert.equal(xss('<script>alert(1)</script>', { captures: null }), true);
  assert.equal(xss('a plain sentence, with <b>no</b> script', { captures: null }), false);
});

test('an operator the engine does not know is refused at load with CrsUnsupported', () => {
  assert.throws(() => compileCrsOperator('verifycc', '', NO_FILES), CrsUnsupported);
});
