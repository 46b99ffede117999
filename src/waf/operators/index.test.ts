/** Table-driven vectors for the operators, the Aho-Corasick matcher, IP/CIDR and regex safety. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileOperator, type OperatorDef } from './index.js';
import { AhoCorasick } from './aho-corasick.js';
import { assertLinearPattern } from './regex-safety.js';
import { ipInCidrs, parseCidr, parseIPv6 } from './ip.js';

const VECTORS: readonly [OperatorDef, string, string | null][] = [
  [{ type: 'regex', pattern: 'a{1,3}b' }, 'xaab', 'aab'],
  [{ type: 'regex', pattern: '^x$' }, 'y', null],
  [{ type: 'phrase', phrases: ['etc/passwd', 'boot.ini'] }, '/../etc/passwd', 'etc/passwd'],
  [{ type: 'phrase', phrases: ['Passwd'] }, 'PASSWD', null],
  [{ type: 'phrase', phrases: ['exec'], wordBoundary: true }, 'execute now', null],
  [{ type: 'phrase', phrases: ['exec'], wordBoundary: true }, 'do exec now', 'exec'],
  [{ type: 'contains', value: '..' }, 'a..b', '..'],
  [{ type: 'contains', value: '..' }, 'a.b', null],
  [{ type: 'prefix', value: 'http' }, 'https://x', 'http'],
  [{ type: 'suffix', value: '.php' }, 'shell.php', '.php'],
  [{ type: 'suffix', value: '.php' }, 'shell.php.txt', null],
  [{ type: 'equals', values: ['a', 'b'] }, 'b', 'b'],
  [{ type: 'ip', cidrs: ['10.0.0.0/8', '::1/128'] }, '10.1.2.3', '10.1.2.3'],
  [{ type: 'ip', cidrs: ['10.0.0.0/8'] }, '11.0.0.1', null],
  [{ type: 'ip', cidrs: ['127.0.0.0/8'] }, '::ffff:127.0.0.1', '::ffff:127.0.0.1'],
  [{ type: 'num', op: 'gt', value: 10 }, '11', '11'],
  [{ type: 'num', op: 'gt', value: 10 }, '10', null],
  [{ type: 'num', op: 'le', value: 10 }, 'ten', null],
  [{ type: 'detect', detector: 'sqli' }, "x' or 1=1--", 'string break then logic'],
  [{ type: 'detect', detector: 'ssrf' }, 'http://0x7f000001/', 'URL to internal address 127.0.0.1'],
];

for (const [def, input, expected] of VECTORS) {
  test(`${def.type} operator ${JSON.stringify(def).slice(0, 70)} on ${JSON.stringify(input)} gives ${JSON.stringify(expected)}`, () => {
    const m = compileOperator(def).match(input);
    if (expected === null) assert.equal(m, null);
    else {
      assert.ok(m !== null, 'matches');
      assert.ok(m.startsWith(expected), `${m} starts with ${expected}`);
    }
  });
}

test('Aho-Corasick reports every overlapping occurrence with its end index', () => {
  const ac = new AhoCorasick(['he', 'she', 'his', 'hers']);
  const hits: string[] = [];
  ac.scan('ushers', (id, end) => {
    hits.push(`${ac.patterns[id]}@${end}`);
  });
  assert.deepEqual(hits.sort(), ['he@4', 'hers@6', 'she@4'].sort());
});

test('Aho-Corasick resets on characters above Latin-1 and still finds later matches', () => {
  const ac = new AhoCorasick(['ab']);
  assert.equal(ac.first('a\u4e2db'), null);
  assert.deepEqual(ac.first('\u4e2dab'), { pattern: 0, end: 3 });
});

test('regexes that repeat a quantified group without bound are refused', () => {
  assert.throws(() => assertLinearPattern('(a+)+$'), /catastrophic|without bound/);
  assert.throws(() => assertLinearPattern('(?:a|b*)*c'), /without bound/);
  assert.throws(() => assertLinearPattern('(x{1,3}){2,}'), /without bound/);
  assert.doesNotThrow(() => assertLinearPattern('(?:\\s{0,4},\\w{1,8}){0,4}'));
  assert.doesNotThrow(() => assertLinearPattern('[(a+)+]'));
  assert.throws(() => compileOperator({ type: 'regex', pattern: '(a+)+$' }));
});

test('IPv6 parsing handles compression and embedded IPv4', () => {
  assert.deepEqual(parseIPv6('::1'), [0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(parseIPv6('[::ffff:127.0.0.1]'), [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
  assert.equal(parseIPv6('1:2:3'), null);
  assert.ok(ipInCidrs('fd12::1', [parseCidr('fc00::/7')]));
  assert.throws(() => parseCidr('10.0.0.0/33'));
});
