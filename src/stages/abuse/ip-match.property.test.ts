import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IpList, parseCidr } from './ip-match.js';
import { clientKey, normaliseIp } from '../../core/ip.js';

const group = fc.integer({ min: 0, max: 0xffff });
const groups = fc.array(group, { minLength: 8, maxLength: 8 });
const full = (g: number[]): string => g.map((x) => x.toString(16)).join(':');

test('an address is in the list of its own prefix and in no list of a disjoint prefix', () => {
  fc.assert(
    fc.property(groups, fc.integer({ min: 1, max: 128 }), (g, prefix) => {
      const ip = normaliseIp(full(g));
      const key = clientKey(ip, { ipv4_prefix: 32, ipv6_prefix: Math.max(32, prefix) });
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
