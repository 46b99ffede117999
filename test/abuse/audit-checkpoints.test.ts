/**
 * Issue 18 item 16: keyed checkpoints anchor the audit log's hash chain, so that `portcullis audit
 * verify` reports lines cut off the end (and a chain rewritten with recomputed hashes), with
 * documented exit codes. A real gateway writes the log (admin API over real sockets), the
 * checkpoint key comes from ${env:...}, and the CLI runs as a real process.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { createAuditLog, makeLine, verifyAuditText } from '../../src/observe/audit.js';
import { parseConfig } from '../../src/config/load.js';
import { STAGES } from '../../src/stages/index.js';

const BIN = fileURLToPath(new URL('../../../bin/portcullis.js', import.meta.url));
const KEY_ENV = 'PC_TEST_AUDIT_CHECKPOINT_KEY';
const KEY = randomBytes(32).toString('base64url');
const ADMIN = randomBytes(24).toString('base64url');

interface Run {
  readonly code: number | null;
  readonly out: string;
}

function cli(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [BIN, 'audit', 'verify', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const lines = (file: string): string[] => readFileSync(file, 'utf8').trimEnd().split('\n');
const keep = (file: string, n: number): void => writeFileSync(file, `${lines(file).slice(0, n).join('\n')}\n`);

describe('audit checkpoints written by a running gateway', () => {
  let up: TestUpstream;
  let gw: TestGateway;
  let dir: string;
  let log: string;
  let cps: string;

  const ban = async (client: string): Promise<void> => {
    const r = await fetch(`${gw.adminUrl}/admin/bans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client, duration_ms: 60_000, reason: 'test' }),
    });
    assert.equal(r.status, 201);
  };

  before(async () => {
    process.env[KEY_ENV] = KEY;
    dir = mkdtempSync(join(tmpdir(), 'pc-audit-cp-'));
    log = join(dir, 'audit.jsonl');
    cps = join(dir, 'audit.jsonl.checkpoints');
    up = await startUpstream();
    gw = await startGateway(
      `
version: 1
listeners: [{ port: 0 }]
admin: { port: 0, token: "${ADMIN}" }
upstreams:
  up: { targets: [{ url: "{{UP}}" }] }
audit:
  enabled: true
  path: audit.jsonl
  checkpoints: { key: "\${env:${KEY_ENV}}", interval_s: 1 }
routes:
  - { id: r, match: { prefix: /r }, upstream: up, auth: none }
`,
      { vars: { UP: up.url }, dir },
    );
  });

  after(async () => {
    await gw?.close();
    await up?.close();
    delete process.env[KEY_ENV];
  });

  test('a checkpoint is written when the log opens and another within interval_s after it grows', async () => {
    assert.ok(existsSync(cps), 'checkpoint file next to the log');
    const first = lines(cps).length;
    assert.ok(first >= 1);
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) await ban(ip);
    const total = lines(log).length;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (JSON.parse(lines(cps).at(-1) as string) as { lines: number }).lines < total) await new Promise((r) => setTimeout(r, 100));
    const last = JSON.parse(lines(cps).at(-1) as string) as Record<string, unknown>;
    assert.equal(last.lines, total);
    assert.deepEqual(Object.keys(last), ['v', 'lines', 'head', 'time', 'mac']);
    assert.ok(!readFileSync(cps, 'utf8').includes(KEY), 'the key is never written');
  });

  test('after a clean shutdown, audit verify -c passes the log and its checkpoints (exit 0)', async () => {
    await ban('10.0.0.4'); // written after the last periodic checkpoint: the shutdown covers it
    await gw.close();
    const total = lines(log).length;
    assert.equal((JSON.parse(lines(cps).at(-1) as string) as { lines: number }).lines, total, 'the shutdown checkpoint covers every line');
    const r = cli(['-c', gw.file], { [KEY_ENV]: KEY });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`OK: .*audit\\.jsonl: ${total} entries, hash chain intact`));
    assert.match(r.out, new RegExp(`OK: .*checkpoints verified; the last \\(.*\\) covers ${total} of ${total} lines`));
  });

  test('lines cut off the end of the log are reported as truncation with exit 1', () => {
    const total = lines(log).length;
    keep(log, total - 2);
    assert.equal(verifyAuditText(readFileSync(log, 'utf8')).ok, true, 'the chain alone still verifies');
    const r = cli(['-c', gw.file], { [KEY_ENV]: KEY });
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      new RegExp(
        `TRUNCATED: .*audit\\.jsonl: the log has ${total - 2} lines but checkpoint \\d+ \\(.*\\) covers ${total}: at least 2 lines were cut off the end`,
      ),
    );
  });
});

describe('audit verify against forged and damaged logs', () => {
  function genuine(n = 5): { dir: string; log: string; cps: string } {
    const dir = mkdtempSync(join(tmpdir(), 'pc-audit-cp-'));
    const log = join(dir, 'audit.jsonl');
    const a = createAuditLog({ audit: { enabled: true, path: log, checkpoints: { key: KEY, interval_s: 3600 } } });
    for (let i = 0; i < n; i++) a.write('ban_placed', { client: `10.0.1.${i}` });
    a.close();
    return { dir, log, cps: `${log}.checkpoints` };
  }
  const verify = (log: string, extra: string[] = [], key = KEY): Run => cli([log, '--key-env', KEY_ENV, ...extra], { [KEY_ENV]: key });

  test('a chain rewritten from some line on, with recomputed hashes, is reported against the checkpoint (exit 1)', () => {
    const { log } = genuine();
    const kept = lines(log).slice(0, 3);
    let prev = { line: kept.at(-1) as string, seq: (JSON.parse(kept.at(-1) as string) as { seq: number }).seq };
    const forged = [...kept];
    for (const client of ['6.6.6.6', '7.7.7.7']) {
      const { line } = makeLine(prev, 'ban_placed', { client }, Date.now());
      forged.push(line);
      prev = { line, seq: prev.seq + 1 };
    }
    writeFileSync(log, `${forged.join('\n')}\n`);
    assert.equal(verifyAuditText(readFileSync(log, 'utf8')).ok, true, 'the forged chain verifies on its own');
    const r = verify(log);
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      /TAMPERED: .*audit\.jsonl: line 5 is not the line checkpoint \d+ \(.*\) covers: the log was rewritten up to there, or cut and written again/,
    );
  });

  test('a log cut and then written again by a restarted gateway is still reported', () => {
    const { log } = genuine(4);
    keep(log, 2);
    const again = createAuditLog({ audit: { enabled: true, path: log, checkpoints: { key: KEY, interval_s: 3600 } } });
    for (let i = 0; i < 3; i++) again.write('config_loaded', { i });
    again.close();
    const r = verify(log);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /line 4 is not the line checkpoint \d+/);
  });

  test('a wrong key, a missing or an empty checkpoint file cannot vouch for the log (exit 3); no key only checks the chain (exit 0 with a note)', () => {
    const { log, cps } = genuine();
    const wrong = verify(log, [], 'x'.repeat(40));
    assert.equal(wrong.code, 3, wrong.out);
    assert.match(wrong.out, /UNVERIFIED: .*none of the \d+ checkpoints verifies with this key \(a wrong key, or the checkpoint file was replaced\)/);
    const missing = verify(log, ['--checkpoints', join(log, '..', 'nope')]);
    assert.equal(missing.code, 3, missing.out);
    assert.match(missing.out, /UNVERIFIED: .*the checkpoint file is missing/);
    writeFileSync(cps, '');
    assert.equal(verify(log).code, 3);
    const none = cli([log]);
    assert.equal(none.code, 0, none.out);
    assert.match(none.out, /NOTE: checkpoints not checked/);
  });

  test('an edited or forged checkpoint line is reported with exit 1', () => {
    const { log, cps } = genuine();
    const good = lines(cps);
    const c = JSON.parse(good[0] as string) as Record<string, unknown>;
    appendFileSync(cps, `${JSON.stringify({ ...c, lines: 1 })}\n`);
    const r = verify(log);
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      new RegExp(`TAMPERED: .*checkpoints: checkpoint line ${good.length + 1} \\(.*\\) does not verify with this key \\(forged or edited\\)`),
    );
    writeFileSync(cps, `${good.join('\n')}\nnot json\n`);
    assert.match(verify(log).out, new RegExp(`checkpoint line ${good.length + 1} is not a checkpoint`));
  });

  test('audit verify refuses bad usage with exit 2', () => {
    const { log } = genuine(1);
    assert.equal(cli([log, '--checkpoints', 'x']).code, 2, '--checkpoints without a key');
    assert.equal(cli([log, '--key-env', 'PC_TEST_UNSET_ENV_X']).code, 2);
    assert.equal(cli([]).code, 2);
    assert.equal(cli([log, '--bogus']).code, 2);
  });

  test('a torn last line (crash mid-write) stays a line of its own: the next entry starts on a new line', () => {
    const { log } = genuine(2);
    appendFileSync(log, '{"seq":2,"ti');
    const again = createAuditLog({ audit: { enabled: true, path: log, checkpoints: { key: KEY, interval_s: 3600 } } });
    again.write('config_loaded', {});
    again.close();
    const all = lines(log);
    assert.equal(all.length, 4);
    assert.equal(all[2], '{"seq":2,"ti');
    const v = verifyAuditText(readFileSync(log, 'utf8'));
    assert.equal(!v.ok && v.problem, 'malformed');
    assert.equal(!v.ok && v.line, 3);
    assert.equal(JSON.parse(lines(`${log}.checkpoints`).at(-1) as string).lines, 4, 'checkpoints count the torn line');
  });

  test('a checkpoint key shorter than 32 characters is a config error naming the key', () => {
    assert.throws(
      () =>
        parseConfig(
          'version: 1\nlisteners: [{ port: 0 }]\nupstreams: {}\nroutes: []\naudit: { enabled: true, checkpoints: { key: short } }\n',
          'portcullis.yaml',
          STAGES,
        ),
      (e: Error) => /portcullis\.yaml:5:\d+: must NOT have fewer than 32 characters \(audit\.checkpoints\.key\)/.test(e.message),
    );
  });
});
