import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpList, clientKeyForIp, ipv6Groups, normaliseIp, parseCidr } from './ip-match.js';

test('normaliseIp unwraps IPv4-mapped IPv6, zone ids and brackets, and rejects non-addresses', () => {
  assert.equal(normaliseIp('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(normaliseIp('FE80::1%eth0'), 'fe80::1');
  assert.equal(normaliseIp('[::1]'), '::1');
  assert.equal(normaliseIp('1.2.3.4'), '1.2.3.4');
  assert.equal(normaliseIp('example.com'), '');
  assert.equal(normaliseIp('1.2.3.256'), '');
});

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

test('ipv6Groups expands compressed and IPv4-suffixed forms', () => {
  assert.deepEqual(ipv6Groups('2001:db8::1'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(ipv6Groups('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(ipv6Groups('64:ff9b::192.0.2.33'), [0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221]);
  assert.equal(ipv6Groups('1.2.3.4'), null);
});

test('IPv6 clients share one key per prefix, IPv4 clients keep their address', () => {
  assert.equal(clientKeyForIp('2001:db8:1:2:aaaa::1', 64), '2001:db8:1:2::/64');
  assert.equal(clientKeyForIp('2001:db8:1:2:bbbb::9', 64), '2001:db8:1:2::/64');
  assert.notEqual(clientKeyForIp('2001:db8:1:3::1', 64), clientKeyForIp('2001:db8:1:2::1', 64));
  assert.equal(clientKeyForIp('2001:db8:1:2::1', 128), '2001:db8:1:2::1');
  assert.equal(clientKeyForIp('2001:db8:1:2::1', 48), '2001:db8:1::/48');
  assert.equal(clientKeyForIp('::ffff:1.2.3.4', 64), '1.2.3.4');
  assert.equal(clientKeyForIp('10.0.0.1', 64), '10.0.0.1');
});
