import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IpList, clientKeyForIp, ipv6Groups, normaliseIp, parseCidr } from './ip-match.js';

const group = fc.integer({ min: 0, max: 0xffff });
const groups = fc.array(group, { minLength: 8, maxLength: 8 });
const full = (g: number[]): string => g.map((x) => x.toString(16)).join(':');

test('ipv6Groups reads back every fully written IPv6 address', () => {
  fc.assert(fc.property(groups, (g) => assert.deepEqual(ipv6Groups(full(g)), g)));
});

test('two IPv6 addresses share a client key exactly when their first prefix bits agree', () => {
  fc.assert(
    fc.property(groups, groups, fc.integer({ min: 32, max: 127 }), (a, b, prefix) => {
      const bitsEqual = (() => {
        for (let bit = 0; bit < prefix; bit++) {
          const i = Math.floor(bit / 16);
          const m = 1 << (15 - (bit % 16));
          if (((a[i] as number) & m) !== ((b[i] as number) & m)) return false;
        }
        return true;
      })();
      assert.equal(clientKeyForIp(full(a), prefix) === clientKeyForIp(full(b), prefix), bitsEqual);
    }),
  );
});

test('an address is in the list of its own prefix and in no list of a disjoint prefix', () => {
  fc.assert(
    fc.property(groups, fc.integer({ min: 1, max: 128 }), (g, prefix) => {
      const ip = normaliseIp(full(g));
      const key = clientKeyForIp(ip, Math.max(32, prefix));
      const cidr = prefix >= 32 && prefix < 128 ? key : `${ip}/${prefix}`;
      assert.ok(parseCidr(cidr), cidr);
      assert.equal(new IpList([cidr]).has(ip), true, cidr);
      // flip the first bit: outside any prefix of at least one bit
      const other = [...g];
      other[0] = (other[0] as number) ^ 0x8000;
      assert.equal(new IpList([cidr]).has(normaliseIp(full(other))), false, cidr);
    }),
  );
});

test('normaliseIp never throws and returns an address or the empty string', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (s) => {
      const n = normaliseIp(s);
      assert.ok(n === '' || parseCidr(n) !== null);
    }),
  );
});
