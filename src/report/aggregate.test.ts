import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketWidth, CLIENT_CAP, MAX_BUCKETS, ReportAggregator } from './aggregate.js';
import { CappedCounts, OTHER } from './counts.js';

const FROM = new Date('2026-07-01T00:00:00Z');
const TO = new Date('2026-07-02T00:00:00Z');
const chain = { checked: false, ok: null, entries: null, message: 'none', checkpoints: null };
const sources = { accessLogs: [], auditLog: null };

const denied = (time: string, code: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  time,
  client_ip: '10.0.0.1',
  status: 401,
  route_id: 'a-data',
  tenant: null,
  decision: { stage: 'auth', code, reason: null },
  ...extra,
});

test('counts only lines in [from, to): the end is excluded', () => {
  const a = new ReportAggregator({ from: FROM, to: TO });
  assert.equal(a.addAccess({ time: '2026-06-30T23:59:59.999Z', status: 200, decision: 'allowed' }), false);
  assert.equal(a.addAccess({ time: '2026-07-01T00:00:00.000Z', status: 200, decision: 'allowed' }), true);
  assert.equal(a.addAccess({ time: '2026-07-02T00:00:00.000Z', status: 200, decision: 'allowed' }), false);
  assert.equal(a.finish(sources, chain, TO).traffic.requests, 1);
});

test('an auth failure before authentication counts for the tenant that owns its route; an auth backend outage is not a failure', () => {
  const a = new ReportAggregator({ from: FROM, to: TO, routeTenants: new Map([['a-data', 'A']]) });
  a.addAccess(denied('2026-07-01T01:00:00.000Z', 'PC_ERR_AUTH_REQUIRED'));
  a.addAccess(denied('2026-07-01T01:00:01.000Z', 'PC_ERR_AUTH_UNAVAILABLE', { status: 503 }));
  const r = a.finish(sources, chain, TO);
  assert.equal(r.authFailures.total, 1);
  assert.deepEqual(r.authFailures.byTenant, [{ key: 'A', count: 1 }]);
  assert.equal(r.refusals.total, 2);
  assert.deepEqual(r.tenants, [{ tenant: 'A', requests: 2, refused: 2, authFailures: 1, wafBlocks: 0 }]);
});

test('a WAF block counts once in each attack category of its rules, and a monitored one apart', () => {
  const a = new ReportAggregator({ from: FROM, to: TO });
  a.addAccess(
    denied('2026-07-01T02:00:00.000Z', 'PC_ERR_WAF_BLOCKED', {
      status: 403,
      decision: { stage: 'waf', code: 'PC_ERR_WAF_BLOCKED', reason: null },
      waf: { blocked: true, rules: ['942100', '941100'], tags: ['attack-sqli', 'injection', 'attack-xss'] },
    }),
  );
  a.addAccess({ time: '2026-07-01T02:00:01.000Z', status: 200, decision: 'allowed', waf: { blocked: true, rules: ['942100'], tags: ['attack-sqli'] } });
  const r = a.finish(sources, chain, TO);
  assert.equal(r.waf.total, 1);
  assert.equal(r.waf.monitored, 1);
  assert.deepEqual(r.waf.byCategory, [
    { key: 'sqli', count: 1 },
    { key: 'xss', count: 1 },
  ]);
});

test('with --tenant, other tenants lines are left out and IP bans count when the address sent the tenant traffic', () => {
  const a = new ReportAggregator({
    from: FROM,
    to: TO,
    tenant: 'B',
    consumerTenants: new Map([
      ['bob', 'B'],
      ['alice', 'A'],
    ]),
  });
  a.addAccess({ time: '2026-07-01T03:00:00.000Z', client_ip: '10.0.0.2', status: 200, tenant: 'B', decision: 'allowed' });
  a.addAccess({ time: '2026-07-01T03:00:00.000Z', client_ip: '10.0.0.1', status: 200, tenant: 'A', decision: 'allowed' });
  const t = '2026-07-01T04:00:00.000Z';
  assert.equal(a.addAudit({ time: t, event: 'ban_placed', data: { client: '10.0.0.2' } }), true);
  assert.equal(a.addAudit({ time: t, event: 'ban_placed', data: { client: '10.0.0.1' } }), false);
  assert.equal(a.addAudit({ time: t, event: 'ban_placed', data: { client: 'consumer:bob' } }), true);
  assert.equal(a.addAudit({ time: t, event: 'ban_placed', data: { client: 'consumer:alice' } }), false);
  assert.equal(a.addAudit({ time: t, event: 'admin_cache_purged', data: { by: 'x' } }), false);
  assert.equal(a.addAudit({ time: t, event: 'admin_ban_added', data: { by: 'x', tenant: 'B' } }), true);
  const r = a.finish(sources, chain, TO);
  assert.equal(r.traffic.requests, 1);
  assert.equal(r.bans.placed, 2);
  assert.equal(r.adminActions.total, 1);
});

test('the configuration in force when the period began is the last load or reload before it; a rejected one is not', () => {
  const a = new ReportAggregator({ from: FROM, to: TO });
  a.addAudit({ time: '2026-06-01T00:00:00.000Z', event: 'config_loaded', data: { hash: 'h1' } });
  a.addAudit({ time: '2026-06-15T00:00:00.000Z', event: 'config_reloaded', data: { hash: 'h2', trigger: 'signal' } });
  a.addAudit({ time: '2026-06-20T00:00:00.000Z', event: 'config_rejected', data: { error: 'bad' } });
  a.addAudit({ time: '2026-07-01T05:00:00.000Z', event: 'config_reloaded', data: { hash: 'h3', trigger: 'file_change', process_user: 'gw' } });
  a.addAudit({ time: '2026-07-03T00:00:00.000Z', event: 'config_reloaded', data: { hash: 'h4' } });
  const r = a.finish(sources, chain, TO);
  assert.deepEqual(
    r.configVersions.map((v) => [v.hash, v.inForceAtStart, v.trigger]),
    [
      ['h2', true, 'signal'],
      ['h3', false, 'file_change'],
    ],
  );
});

test('the timeline never has more than MAX_BUCKETS buckets, whatever the period', () => {
  for (const days of [1 / 24, 1, 7, 90, 366, 3650]) {
    const to = new Date(FROM.getTime() + days * 86_400_000);
    const w = bucketWidth(FROM.getTime(), to.getTime());
    assert.ok(Math.ceil((to.getTime() - FROM.getTime()) / w) <= MAX_BUCKETS, `${days} days`);
    const r = new ReportAggregator({ from: FROM, to }).finish(sources, chain, to);
    assert.ok(r.traffic.timeline.length <= MAX_BUCKETS);
  }
});

test('refused clients beyond the cap are counted in (other), and the section is marked as capped', () => {
  const a = new ReportAggregator({ from: FROM, to: TO });
  for (let i = 0; i < CLIENT_CAP + 5; i++)
    a.addAccess(denied('2026-07-01T06:00:00.000Z', 'PC_ERR_AUTH_REQUIRED', { client_ip: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` }));
  const r = a.finish(sources, chain, TO);
  assert.equal(r.topRefusedClients.at(-1)?.key, OTHER);
  assert.equal(
    r.topRefusedClients.reduce((s, c) => s + c.count, 0),
    CLIENT_CAP + 5,
  );
  assert.ok(r.truncated.includes('topRefusedClients'));
});

test('CappedCounts keeps the first keys exactly and sorts by count', () => {
  const c = new CappedCounts(2);
  for (const k of ['a', 'b', 'b', 'c', 'a', 'b', 'd']) c.add(k);
  assert.deepEqual(c.top(), [
    { key: 'b', count: 3 },
    { key: 'a', count: 2 },
    { key: OTHER, count: 2 },
  ]);
  assert.deepEqual(c.top(1), [
    { key: 'b', count: 3 },
    { key: OTHER, count: 4 },
  ]);
  assert.equal(c.sum, 7);
});
