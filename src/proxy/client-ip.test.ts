import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { resolveClientHop, resolveClientIp, TrustedProxies } from './client-ip.js';

const XFF = new TrustedProxies(['127.0.0.1/32', '10.0.0.0/8', '2001:db8:ffff::/48']);
const FWD = new TrustedProxies(['127.0.0.1/32', '10.0.0.0/8', '2001:db8:ffff::/48'], 'forwarded');

test('X-Forwarded-For: the right-most address that is not a trusted proxy, only from a trusted peer', () => {
  const cases: [string, string | string[] | undefined, string][] = [
    ['127.0.0.1', '203.0.113.9', '203.0.113.9'],
    ['127.0.0.1', '6.6.6.6, 203.0.113.9', '203.0.113.9'],
    ['127.0.0.1', '6.6.6.6, 203.0.113.9, 10.1.2.3', '203.0.113.9'],
    ['127.0.0.1', ['6.6.6.6', '203.0.113.9, 10.1.2.3'], '203.0.113.9'],
    ['127.0.0.1', '10.0.0.7, 10.1.2.3', '10.0.0.7'],
    ['127.0.0.1', '6.6.6.6, garbage, 10.1.2.3', '127.0.0.1'],
    ['127.0.0.1', '6.6.6.6, , 10.1.2.3', '127.0.0.1'],
    ['127.0.0.1', '', '127.0.0.1'],
    ['127.0.0.1', undefined, '127.0.0.1'],
    ['127.0.0.1', '::FFFF:203.0.113.9', '203.0.113.9'],
    ['127.0.0.1', '2001:0DB8::1', '2001:db8::1'],
    ['::ffff:127.0.0.1', '203.0.113.9', '203.0.113.9'],
    ['198.51.100.1', '203.0.113.9', '198.51.100.1'],
  ];
  for (const [peer, xff, want] of cases) assert.equal(resolveClientIp(peer, xff, XFF), want, `${peer} ${JSON.stringify(xff)}`);
});

test('Forwarded: the right-most for= that is not a trusted proxy, with the proto and host of its element', () => {
  const cases: [string | string[], string, string | null, string | null][] = [
    ['for=203.0.113.9;proto=https;host=api.example.com', '203.0.113.9', 'https', 'api.example.com'],
    ['for=6.6.6.6, for=203.0.113.9;proto=HTTPS, for=10.1.2.3;proto=http', '203.0.113.9', 'https', null],
    ['for="[2001:db8::9]:4711";host="api.example.com:8443"', '2001:db8::9', null, 'api.example.com:8443'],
    ['for="203.0.113.9:4711"', '203.0.113.9', null, null],
    ['For=203.0.113.9 ; Proto=https', '203.0.113.9', 'https', null],
    ['for=203.0.113.9;host="a,b"', '203.0.113.9', null, null],
    [['for=6.6.6.6', 'for=203.0.113.9, for=10.0.0.2'], '203.0.113.9', null, null],
    ['for=10.0.0.7, for=10.1.2.3', '10.0.0.7', null, null],
    ['for=6.6.6.6, for=unknown, for=10.1.2.3', '127.0.0.1', null, null],
    ['for=6.6.6.6, for=_hidden', '127.0.0.1', null, null],
    ['for=6.6.6.6;for=7.7.7.7', '127.0.0.1', null, null],
    ['proto=https', '127.0.0.1', null, null],
    ['for=6.6.6.6, for="unterminated', '127.0.0.1', null, null],
    ['for = 6.6.6.6', '127.0.0.1', null, null],
    ['', '127.0.0.1', null, null],
  ];
  for (const [fwd, ip, proto, host] of cases) {
    assert.deepEqual(resolveClientHop('127.0.0.1', fwd, FWD), { ip, proto, host }, JSON.stringify(fwd));
  }
});

test('only the configured header is read: the other one never chooses the client', () => {
  // (the pipeline hands resolveClientIp the value of `trusted.header` only)
  assert.equal(resolveClientIp('127.0.0.1', 'for=203.0.113.9', XFF), '127.0.0.1', 'a Forwarded value is garbage to an X-Forwarded-For reader');
  assert.equal(resolveClientIp('127.0.0.1', '203.0.113.9', FWD), '127.0.0.1', 'an X-Forwarded-For value is garbage to a Forwarded reader');
});

test('whatever a client writes, the result is the peer or an address in normal form', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 }), fc.constantFrom('10.0.0.1', '127.0.0.1')), { maxLength: 6 }), (parts) => {
      for (const [t, v] of [
        [XFF, parts.join(', ')],
        [FWD, parts.map((p) => `for="${p.includes(':') ? `[${p}]` : p}"`).join(', ')],
      ] as const) {
        const ip = resolveClientIp('127.0.0.1', v, t);
        assert.ok(ip === '127.0.0.1' || isIP(ip) !== 0, ip);
        assert.ok(!ip.includes('%') && ip === ip.toLowerCase(), ip);
      }
    }),
  );
});
