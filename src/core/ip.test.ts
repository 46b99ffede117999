import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { ClientKeys, clientKey, formatIpv6, ipv6Groups, normaliseIp } from './ip.js';

const P64 = { ipv4_prefix: 32, ipv6_prefix: 64 };

test('normaliseIp unwraps IPv4-mapped IPv6, zone ids and brackets, and rejects non-addresses', () => {
  assert.equal(normaliseIp('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(normaliseIp('FE80::1%eth0'), 'fe80::1');
  assert.equal(normaliseIp('[::1]'), '::1');
  assert.equal(normaliseIp('1.2.3.4'), '1.2.3.4');
  assert.equal(normaliseIp('example.com'), '');
  assert.equal(normaliseIp('1.2.3.256'), '');
  assert.equal(normaliseIp('01.2.3.4'), '', 'leading zeros are not an address (octal in some parsers)');
});

test('every spelling of an IPv4-mapped IPv6 address is the IPv4 address', () => {
  for (const s of ['::ffff:1.2.3.4', '::FFFF:1.2.3.4', '::ffff:102:304', '0:0:0:0:0:ffff:0102:0304', '0::ffff:1.2.3.4', '[::ffff:1.2.3.4]']) {
    assert.equal(normaliseIp(s), '1.2.3.4', s);
    assert.equal(clientKey(s, P64), '1.2.3.4', s);
  }
});

test('IPv6 addresses are written in RFC 5952 text', () => {
  assert.equal(normaliseIp('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(normaliseIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1', 'the first of two equal zero runs is compressed');
  assert.equal(normaliseIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1', 'one zero group is not compressed');
  assert.equal(normaliseIp('0:0:0:0:0:0:0:0'), '::');
  assert.equal(normaliseIp('::1'), '::1');
  assert.equal(formatIpv6([1, 0, 0, 0, 0, 0, 0, 0]), '1::');
});

test('ipv6Groups expands compressed and IPv4-suffixed forms', () => {
  assert.deepEqual(ipv6Groups('2001:db8::1'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(ipv6Groups('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(ipv6Groups('64:ff9b::192.0.2.33'), [0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221]);
  assert.equal(ipv6Groups('1.2.3.4'), null);
});

test('IPv6 clients share one key per prefix, IPv4 clients keep their address unless a shorter prefix is set', () => {
  assert.equal(clientKey('2001:db8:1:2:aaaa::1', P64), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:DB8:1:2:bbbb::9', P64), '2001:db8:1:2::/64');
  assert.notEqual(clientKey('2001:db8:1:3::1', P64), clientKey('2001:db8:1:2::1', P64));
  assert.equal(clientKey('2001:db8:1:2::1', { ipv4_prefix: 32, ipv6_prefix: 128 }), '2001:db8:1:2::1');
  assert.equal(clientKey('2001:0db8:1:2:0::1', { ipv4_prefix: 32, ipv6_prefix: 128 }), '2001:db8:1:2::1', 'one key per address, however written');
  assert.equal(clientKey('2001:db8:1:2::1', { ipv4_prefix: 32, ipv6_prefix: 48 }), '2001:db8:1::/48');
  assert.equal(clientKey('10.0.0.1', P64), '10.0.0.1');
  assert.equal(clientKey('10.1.2.3', { ipv4_prefix: 24, ipv6_prefix: 64 }), '10.1.2.0/24');
  assert.equal(clientKey('10.1.2.3', { ipv4_prefix: 16, ipv6_prefix: 64 }), '10.1.0.0/16');
  assert.equal(clientKey('not an address', P64), 'not an address');
});

const group = fc.integer({ min: 0, max: 0xffff });
const groups = fc.array(group, { minLength: 8, maxLength: 8 });
const full = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
/** the same address written differently: upper case, leading zeros, another zero run compressed */
const respell = (g: number[], upper: boolean, pad: boolean): string => {
  const s = g.map((x) => (pad ? x.toString(16).padStart(4, '0') : x.toString(16))).join(':');
  return upper ? s.toUpperCase() : s;
};

test('ipv6Groups reads back every fully written IPv6 address, and formatIpv6 writes it back', () => {
  fc.assert(
    fc.property(groups, (g) => {
      assert.deepEqual(ipv6Groups(full(g)), g);
      const text = formatIpv6(g);
      assert.equal(isIP(text), 6);
      assert.deepEqual(ipv6Groups(text), g);
    }),
  );
});

test('two IPv6 addresses share a client key exactly when their first prefix bits agree, however they are written', () => {
  fc.assert(
    fc.property(groups, groups, fc.integer({ min: 32, max: 128 }), fc.boolean(), fc.boolean(), (a, b, prefix, upper, pad) => {
      fc.pre(!(a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] === 0 && a[4] === 0 && a[5] === 0xffff));
      fc.pre(!(b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0 && b[4] === 0 && b[5] === 0xffff));
      const bitsEqual = (() => {
        for (let bit = 0; bit < prefix; bit++) {
          const i = Math.floor(bit / 16);
          const m = 1 << (15 - (bit % 16));
          if (((a[i] as number) & m) !== ((b[i] as number) & m)) return false;
        }
        return true;
      })();
      const p = { ipv4_prefix: 32, ipv6_prefix: prefix };
      assert.equal(clientKey(full(a), p) === clientKey(respell(b, upper, pad), p), bitsEqual);
    }),
  );
});

test('two IPv4 addresses share a client key exactly when their first prefix bits agree', () => {
  const v4 = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
  fc.assert(
    fc.property(v4, v4, fc.integer({ min: 16, max: 32 }), (a, b, prefix) => {
      const n = (x: number[]) => (((x[0] as number) << 24) | ((x[1] as number) << 16) | ((x[2] as number) << 8) | (x[3] as number)) >>> 0;
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      const p = { ipv4_prefix: prefix, ipv6_prefix: 64 };
      assert.equal(clientKey(a.join('.'), p) === clientKey(`::ffff:${b.join('.')}`, p), (n(a) & mask) >>> 0 === (n(b) & mask) >>> 0);
    }),
  );
});

test('ClientKeys gives the key clientKey gives, for addresses and for anything else', () => {
  const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 }));
  fc.assert(
    fc.property(fc.array(ip, { minLength: 1, maxLength: 5 }), fc.integer({ min: 16, max: 32 }), fc.integer({ min: 32, max: 128 }), (ips, v4, v6) => {
      const p = { ipv4_prefix: v4, ipv6_prefix: v6 };
      const keys = new ClientKeys(p);
      for (const x of [...ips, ...ips]) {
        const n = normaliseIp(x);
        // ClientKeys is given client IPs: normalised addresses or ''
        if (n === '' && x !== '') continue;
        assert.equal(keys.of(n), clientKey(n, p), x);
      }
    }),
  );
});

test('normaliseIp never throws, returns an address or the empty string, and is idempotent', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.ipV6(), fc.ipV4()), (s) => {
      const n = normaliseIp(s);
      assert.ok(n === '' || isIP(n) !== 0);
      assert.equal(normaliseIp(n), n);
    }),
  );
});
