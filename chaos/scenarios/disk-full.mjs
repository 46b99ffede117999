// The access log and the audit log on a small tmpfs that fills up under load: the gateway keeps
// serving, counts and alerts the loss; with `audit.fail_closed: true` it refuses what the audit log
// cannot record. Two gateways side by side (fail_closed off and on), one tmpfs.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  admin,
  ADMIN_TOKEN,
  auditEvents,
  auditVerify,
  check,
  fmtBy,
  freePort,
  load,
  metric,
  sleep,
  startGateway,
  startUpstream,
  summarize,
  workDir,
} from '../lib.mjs';

export const diskFull = {
  title: 'Access-log and audit-log disk full',
  expect: [
    'Two gateways (A: `audit.fail_closed: false`, B: `audit.fail_closed: true`) write their access and audit logs to one 256 KiB tmpfs; a filler file fills it mid-load, and is removed later.',
    'Both keep serving: every request 200 while the disk is full.',
    'The loss is counted: `portcullis_access_log_dropped_total` grows on both; `portcullis_audit_lines_lost_total` grows for entries that could not be written; each fires the `log_lines_lost` fault alert (gateway log, `alert.firing`).',
    "A tmpfs allocates whole pages: the audit file's last page still takes a few small entries after the disk is full. Admin bans are sent one after the other (at most 40) until the audit log stops taking them.",
    'A (fail_closed off): every admin ban is placed (201); those whose entries did not fit are counted as lost.',
    'B (fail_closed on): records before acting; the first ban whose `admin_request` entry cannot be written is refused, 503 `PC_ERR_AUDIT_UNAVAILABLE`, and not placed; every ban B accepted has its `admin_request` entry (its `admin_ban_added` entry, written after the action, may be lost and is counted); a config reload (SIGHUP) then is rejected and the running config stays.',
    'Once there is room again: B accepts admin actions within 1.5 s; both audit logs verify, with an `audit_lines_lost` entry recording the gap; no torn line in either access log.',
  ],
  async run({ log }) {
    const dir = workDir('diskfull');
    const mnt = join(dir, 'logs');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { encoding: 'utf8' });
    if (m.status !== 0) return { skipped: `mount -t tmpfs not permitted (${(m.stderr || '').trim()})`, checks: [] };
    try {
      return await scenario(dir, mnt, log);
    } finally {
      spawnSync('umount', ['-l', mnt]);
    }
  },
};

async function scenario(dir, mnt, log) {
  const up = await startUpstream();
  const gws = {};
  for (const name of ['A', 'B']) {
    const port = await freePort();
    const adminPort = await freePort();
    const gdir = join(dir, name);
    mkdirSync(gdir);
    const cfg = (extra = '') => `
version: 1
listeners: [{ port: ${port} }]
admin: { port: ${adminPort}, token: ${ADMIN_TOKEN} }
access_log: { path: "${mnt}/access-${name}.log" }
audit: { enabled: true, path: "${mnt}/audit-${name}.jsonl", fail_closed: ${name === 'B'} }
alerts: { evaluate_interval_ms: 500, faults: { resolve_after_ms: 5000, cooldown_ms: 1000 } }
reload: { watch: false }
waf: { mode: off }
abuse: { enabled: true }
upstreams:
  up: { targets: [{ url: "${up.url}" }] }
routes:
  - { id: api, match: { prefix: /api }, upstream: up, auth: none }
${extra}`;
    gws[name] = { name, port, adminPort, cfg, g: await startGateway(gdir, cfg(), { port }) };
  }
  const metrics = async (x) => {
    const t = (await admin(x.adminPort, '/metrics')).text;
    return {
      accessDropped: metric(t, 'portcullis_access_log_dropped_total'),
      auditLost: metric(t, 'portcullis_audit_lines_lost_total'),
      reloadFail: metric(t, 'portcullis_config_reloads_total', { result: 'failure' }),
    };
  };
  const ban = (x, client) => admin(x.adminPort, '/admin/bans', { method: 'POST', body: { client, duration_ms: 600000, reason: 'chaos' } });
  const t0 = performance.now();
  const loads = Object.values(gws).map((x) =>
    load({ origin: `http://127.0.0.1:${x.port}`, concurrency: 4, t0, next: (i) => ({ lane: x.name, path: `/api/${i}?${'q'.repeat(200)}` }) }),
  );
  await sleep(2500);
  const m0 = { A: await metrics(gws.A), B: await metrics(gws.B) };
  const tFull = performance.now() - t0;
  const filler = join(mnt, 'filler');
  spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { encoding: 'utf8' });
  const df = spawnSync('df', ['-k', mnt], { encoding: 'utf8' }).stdout.trim().split('\n').pop();
  log(`  disk full at ${(tFull / 1000).toFixed(1)} s (${df.replace(/\s+/g, ' ')})`);
  await sleep(1500); // access-log batches hit the full disk
  // bans until the audit log stops taking them (A: an entry lost; B: a ban refused)
  const bansA = [];
  for (let i = 0; i < 40; i++) {
    const before = (await metrics(gws.A)).auditLost;
    bansA.push((await ban(gws.A, `127.0.1.${i + 1}`)).status);
    if ((await metrics(gws.A)).auditLost > before) break;
  }
  const bansB = [];
  let banB = null;
  for (let i = 0; i < 40 && banB === null; i++) {
    const r = await ban(gws.B, `127.0.2.${i + 1}`);
    bansB.push(r.status);
    if (r.status !== 201) banB = { ...r, client: `127.0.2.${i + 1}` };
  }
  gws.B.g.write(gws.B.cfg('  - { id: extra, match: { prefix: /extra }, upstream: up, auth: none }\n'));
  gws.B.g.proc.kill('SIGHUP');
  await sleep(2500);
  const extraDuring = await fetch(`http://127.0.0.1:${gws.B.port}/extra`).then((r) => r.status);
  const listB = await admin(gws.B.adminPort, '/admin/bans');
  const m1 = { A: await metrics(gws.A), B: await metrics(gws.B) };
  const tFree = performance.now() - t0;
  rmSync(filler);
  log(`  room again at ${(tFree / 1000).toFixed(1)} s`);
  let tBanB = null;
  for (let i = 0; i < 150 && tBanB === null; i++) {
    const r = await ban(gws.B, '127.0.0.9');
    if (r.status === 201) tBanB = performance.now() - t0;
    else await sleep(20);
  }
  const banAfterA = await ban(gws.A, '127.0.0.10'); // A's next entry: the gap is recorded before it
  await sleep(2000);
  const recs = (await Promise.all(loads.map((l) => l.stop()))).flat();
  const out = {};
  for (const x of Object.values(gws)) {
    out[x.name] = { alive: x.g.alive(), stderr: x.g.stderr() };
    await x.g.stop();
    const access = readFileSync(join(mnt, `access-${x.name}.log`), 'utf8')
      .split('\n')
      .filter(Boolean);
    let torn = 0;
    let afterFree = 0;
    const freeIso = Date.now() - (performance.now() - t0 - tFree);
    for (const l of access) {
      try {
        const j = JSON.parse(l);
        if (Date.parse(j.time) > freeIso) afterFree++;
      } catch {
        torn++;
      }
    }
    const events = auditEvents(join(mnt, `audit-${x.name}.jsonl`));
    out[x.name] = {
      ...out[x.name],
      torn,
      afterFree,
      accessLines: access.length,
      gap: events.filter((e) => e.event === 'audit_lines_lost').map((e) => e.data.entries),
      // admin actions recorded before they were taken: admin_request entries before the gap marker
      bansRecorded: events
        .slice(
          0,
          Math.max(
            0,
            events.findIndex((e) => e.event === 'audit_lines_lost'),
          ),
        )
        .filter((e) => e.event === 'admin_request' && e.data.path === '/admin/bans').length,
      verify: auditVerify(join(mnt, `audit-${x.name}.jsonl`)),
      alerts: (out[x.name].stderr.match(/"alert\.firing"[^\n]*log_lines_lost|log_lines_lost[^\n]*"alert\.firing"/g) ?? []).length,
    };
  }
  await up.close();
  const during = recs.filter((r) => r.start >= tFull && r.end <= tFree);
  const failed = recs.filter((r) => r.status !== 200);
  const all = summarize(recs);
  const d = (k, n) => m1[n][k] - m0[n][k];
  return {
    load: `4 keep-alive connections per gateway, GET; disk full from ${(tFull / 1000).toFixed(1)} s to ${(tFree / 1000).toFixed(1)} s (tmpfs 256 KiB, access log batches of up to 64 KiB)`,
    figures: { requests: all.n, failed: failed.length, p99_ms: Math.round(all.p99), max_ms: Math.round(all.max) },
    detail: ['A', 'B'].map(
      (n) =>
        `${n}: access lines dropped +${d('accessDropped', n)}, audit entries lost +${d('auditLost', n)}, access lines in file ${out[n].accessLines} (${out[n].afterFree} after the room returned), audit gaps recorded ${JSON.stringify(out[n].gap)}`,
    ),
    checks: [
      check(
        'requests while the disk is full',
        'all 200 (both gateways)',
        `${fmtBy(summarize(during).by)}`,
        during.length > 0 && during.every((r) => r.status === 200),
      ),
      check('requests, whole run', '0 failed', `${failed.length} of ${all.n}`, failed.length === 0),
      check(
        'access-log loss counted',
        'dropped_total grows on A and B',
        `A +${d('accessDropped', 'A')}, B +${d('accessDropped', 'B')}`,
        d('accessDropped', 'A') > 0 && d('accessDropped', 'B') > 0,
      ),
      check(
        'audit loss counted',
        'lines_lost_total grows on A (ban) and B (rejected reload)',
        `A +${d('auditLost', 'A')}, B +${d('auditLost', 'B')}`,
        d('auditLost', 'A') > 0 && d('auditLost', 'B') > 0,
      ),
      check('loss alerted', '`log_lines_lost` alert.firing in each gateway log', `A ${out.A.alerts}, B ${out.B.alerts}`, out.A.alerts > 0 && out.B.alerts > 0),
      check(
        'A (fail_closed off): admin bans',
        'all 201, until one entry is lost',
        `${fmtBy(summarize(bansA.map((st) => ({ status: st, start: 0, end: 0 }))).by)} (${bansA.length} bans)`,
        bansA.every((st) => st === 201) && d('auditLost', 'A') > 0,
      ),
      check(
        'B (fail_closed on): admin bans',
        'each accepted one recorded first (admin_request); then 503 PC_ERR_AUDIT_UNAVAILABLE, not placed',
        banB === null
          ? `never refused (${bansB.length} accepted)`
          : `${bansB.length - 1} accepted (${out.B.bansRecorded} admin_request entries), then ${banB.status} ${JSON.parse(banB.text).code ?? ''}; placed: ${listB.text.includes(`"${banB.client}"`)}`,
        banB !== null &&
          banB.status === 503 &&
          JSON.parse(banB.text).code === 'PC_ERR_AUDIT_UNAVAILABLE' &&
          !listB.text.includes(`"${banB.client}"`) &&
          out.B.bansRecorded === bansB.length - 1,
      ),
      check(
        'B: reload while full',
        'rejected, running config stays (/extra 404)',
        `reload failures +${d('reloadFail', 'B')}, /extra ${extraDuring}`,
        d('reloadFail', 'B') === 1 && extraDuring === 404,
      ),
      check('A: admin ban once there is room', '201', `${banAfterA.status}`, banAfterA.status === 201),
      check(
        'B: admin actions once there is room',
        '≤ 1500 ms',
        tBanB === null ? 'never' : `${Math.round(tBanB - tFree)} ms`,
        tBanB !== null && tBanB - tFree <= 1500,
      ),
      check(
        'audit chains',
        'both verify, gap recorded',
        `A exit ${out.A.verify.code} gaps ${JSON.stringify(out.A.gap)}; B exit ${out.B.verify.code} gaps ${JSON.stringify(out.B.gap)}`,
        out.A.verify.code === 0 && out.B.verify.code === 0 && out.A.gap.length > 0 && out.B.gap.length > 0,
      ),
      check(
        'access logs',
        'no torn line; lines written again after',
        `A torn ${out.A.torn}, +${out.A.afterFree}; B torn ${out.B.torn}, +${out.B.afterFree}`,
        out.A.torn === 0 && out.B.torn === 0 && out.A.afterFree > 0 && out.B.afterFree > 0,
      ),
      check('gateway processes', 'alive', `A ${out.A.alive}, B ${out.B.alive}`, out.A.alive && out.B.alive),
    ],
  };
}
