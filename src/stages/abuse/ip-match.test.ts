import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpList, parseCidr } from './ip-match.js';
import { normaliseIp } from '../../core/ip.js';

test('parseCidr accepts addresses and prefixes of both families and rejects malformed ones', () => {
  assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 4 });
  assert.deepEqual(parseCidr('2001:db8::/32'), { address: '2001:db8::', prefix: 32, family: 6 });
  assert.deepEqual(parseCidr('::1'), { address: '::1', prefix: 128, family: 6 });
  for (const bad of ['10.0.0.0/33', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/x', 'foo/8', '']) assert.equal(parseCidr(bad), null, bad);
});

test('IpList matches IPv4 and IPv6 subnets, and mapped addresses against IPv4 entries', () => {
  const l = new IpList(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32']);
  assert.equal(l.has('10.200.3.4'), true);
  assert.equal(l.has('11.0.0.1'), false);
  assert.equal(l.has('192.168.1.7'), true);
  assert.equal(l.has('192.168.1.8'), false);
  assert.equal(l.has('2001:db8:ffff::1'), true);
  assert.equal(l.has('2001:db9::1'), false);
  assert.equal(l.has(normaliseIp('::ffff:10.9.9.9')), true);
  assert.equal(new IpList([]).has('10.0.0.1'), false);
  assert.throws(() => new IpList(['nope']), /not an IP address or CIDR/);
});
