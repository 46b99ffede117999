/**
 * Issue 24 (chaos, disk full): an audit entry that cannot be written used to throw out of
 * `services.audit` (a ban or an admin action answered 500 after it had been taken) and could leave
 * a torn line that broke the chain. Now a lost entry is counted and alerted, the file keeps a whole
 * chain (a cut-short write is cut back off), an `audit_lines_lost` entry records the gap once the
 * disk has room again, and with `audit.fail_closed: true` an admin action or a reload is recorded
 * before it is taken, or refused.
 * Real ENOSPC: /dev/full, and a small tmpfs when this process may mount one (root).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { createAuditLog, verifyAuditText } from '../../src/observe/audit.js';
import { startGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';

const TOKEN = 'audit-disk-full-admin-token-0123';

test('an audit entry the disk refuses (ENOSPC) is counted as lost, not thrown', { skip: !existsSync('/dev/full') && 'no /dev/full' }, () => {
  const lost: number[] = [];
  const errors: string[] = [];
  const log = createAuditLog(
    { audit: { enabled: true, path: '/dev/full' } },
    undefined,
    (m) => errors.push(m),
    (n) => lost.push(n),
  );
  try {
    assert.equal(log.write('admin_ban_added', { client: '10.0.0.1' }), false);
    assert.equal(log.write('admin_ban_added', { client: '10.0.0.2' }), false);
    assert.equal(log.lost, 2);
    assert.deepEqual(lost, [1, 1]);
    assert.match(errors[0] ?? '', /ENOSPC/);
  } finally {
    log.close();
  }
});

/** Mounts a tmpfs of `size` at a new directory; null when this process may not mount. */
function mountTmpfs(size: string): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'pc-audit-full-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? dir : null;
}

/** Fills the file system of `dir` (a filler file written until ENOSPC). */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const r = spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { encoding: 'utf8' });
  assert.match(r.stderr, /No space left/, 'the filler fills the disk');
  return filler;
}

test('on a full disk the chain stays whole, the gap is recorded once there is room, and writes resume', async (t) => {
  const dir = mountTmpfs('64k');
  if (dir === null) return t.skip('mount -t tmpfs not permitted here');
  try {
    const file = join(dir, 'audit.jsonl');
    const log = createAuditLog({ audit: { enabled: true, path: file } });
    try {
      assert.equal(log.write('config_loaded', { hash: 'a'.repeat(64) }), true);
      const filler = fill(dir);
      // an entry larger than the room left in the file's last page (tmpfs allocates whole pages):
      // its write is cut short by ENOSPC part-way
      const big = { client: '10.0.0.1', a: 'x'.repeat(2000), b: 'y'.repeat(2000), c: 'z'.repeat(2000) };
      assert.equal(log.write('admin_ban_added', big), false);
      assert.equal(log.lost, 1);
      const during = readFileSync(file, 'utf8');
      assert.equal(verifyAuditText(during).ok, true, 'no torn line left in the file');
      assert.equal(during.split('\n').filter(Boolean).length, 1);
      rmSync(filler);
      assert.equal(log.write('admin_ban_added', { client: '10.0.0.3' }), true, 'room again: written, after the entry recording the gap');
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      const events = lines.map((l) => JSON.parse(l) as { event: string; data: Record<string, unknown> });
      assert.deepEqual(
        events.map((e) => e.event),
        ['config_loaded', 'audit_lines_lost', 'admin_ban_added'],
      );
      assert.equal(events[1]?.data.entries, 1);
      const v = verifyAuditText(lines.join('\n'));
      assert.equal(v.ok, true, JSON.stringify(v));
    } finally {
      log.close();
    }
  } finally {
    spawnSync('umount', [dir]);
  }
});

async function adminBan(adminUrl: string): Promise<{ status: number; code: string | null }> {
  const r = await request(`${adminUrl}/admin/bans`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client: '10.9.9.9', duration_ms: 60000 }),
  });
  const text = await r.body.text();
  return { status: r.statusCode, code: r.statusCode >= 400 ? (JSON.parse(text) as { code: string }).code : null };
}

const config = (up: string, failClosed: boolean): string => `
version: 1
listeners: [{ port: 0 }]
admin: { port: 0, token: ${TOKEN} }
audit: { enabled: true, path: /dev/full, fail_closed: ${failClosed} }
upstreams:
  up: { targets: [{ url: "${up}" }] }
routes:
  - { id: api, match: { prefix: /api }, upstream: up, auth: none }
`;

test('with audit.fail_closed an admin action that cannot be recorded first is refused (503) and a reload rejected; traffic is served', {
  skip: !existsSync('/dev/full') && 'no /dev/full',
}, async () => {
  const up = await startUpstream();
  const gw = await startGateway(config(up.url, true));
  try {
    const r = await request(`${gw.url}/api/x`);
    await r.body.text();
    assert.equal(r.statusCode, 200, 'traffic is served');
    assert.deepEqual(await adminBan(gw.adminUrl as string), { status: 503, code: 'PC_ERR_AUDIT_UNAVAILABLE' });
    const bans = await request(`${gw.adminUrl}/admin/bans`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.doesNotMatch(await bans.body.text(), /10\.9\.9\.9/, 'the refused ban was not placed');
    writeFileSync(gw.file, `${config(up.url, true)}\n  - { id: other, match: { prefix: /other }, upstream: up, auth: none }\n`);
    assert.equal(await gw.reload(), false, 'the reload is rejected');
    const o = await request(`${gw.url}/other`);
    await o.body.text();
    assert.equal(o.statusCode, 404, 'the running config stays');
    const metrics = await (await request(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).body.text();
    assert.match(
      metrics,
      /portcullis_audit_lines_lost_total [1-9]/,
      'the lost entries (config_loaded, admin_request, config_reload_requested, config_rejected) are counted',
    );
  } finally {
    await gw.close();
    await up.close();
  }
});

test('without audit.fail_closed the admin action is taken and its lost audit entry counted', { skip: !existsSync('/dev/full') && 'no /dev/full' }, async () => {
  const up = await startUpstream();
  const gw = await startGateway(config(up.url, false));
  try {
    const m0 = await (await request(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).body.text();
    const before = Number(/portcullis_audit_lines_lost_total (\d+)/.exec(m0)?.[1] ?? 'NaN');
    assert.deepEqual(await adminBan(gw.adminUrl as string), { status: 201, code: null });
    const m1 = await (await request(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).body.text();
    // admin_ban_added, and the alert_fired of the ban (abuse.ban) when the alert engine runs
    assert.ok(Number(/portcullis_audit_lines_lost_total (\d+)/.exec(m1)?.[1]) >= before + 1);
  } finally {
    await gw.close();
    await up.close();
  }
});

test('with audit.fail_closed and a writable log, an admin action is recorded (admin_request) before its own entry', async () => {
  const up = await startUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'pc-audit-wal-'));
  const gw = await startGateway(config(up.url, true).replace('/dev/full', join(dir, 'audit.jsonl')));
  try {
    assert.deepEqual(await adminBan(gw.adminUrl as string), { status: 201, code: null });
    const events = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event: string }).event);
    const i = events.indexOf('admin_request');
    assert.ok(i >= 0 && events.indexOf('admin_ban_added') > i, events.join(','));
  } finally {
    await gw.close();
    await up.close();
  }
});
