import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditLog, entryHash, verifyAuditText } from './audit.js';
import { auditCommand } from '../cli/audit.js';

function genuineLog(n = 6): { file: string; lines: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'pc-audit-'));
  const file = join(dir, 'audit.jsonl');
  const log = createAuditLog({ audit: { enabled: true, path: file } });
  log.write('config.loaded', { hash: 'a'.repeat(64), file: 'portcullis.yaml' });
  for (let i = 1; i < n; i++) log.write('ban.placed', { client: `10.0.0.${i}`, reason: 'scanning', by: null });
  log.close();
  return { file, lines: readFileSync(file, 'utf8').trimEnd().split('\n') };
}

async function verify(file: string): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await auditCommand(
    ['verify', file],
    (s) => out.push(s),
    (s) => out.push(s),
  );
  return { code, out: out.join('\n') };
}

test('audit verify passes on a genuine log and the file is private', async () => {
  const { file, lines } = genuineLog();
  assert.equal(lines.length, 6);
  const r = await verify(file);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^OK: .*6 entries/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test('a reopened log continues the same chain', async () => {
  const { file } = genuineLog(3);
  const again = createAuditLog({ audit: { enabled: true, path: file } });
  again.write('config.reloaded', { hash: 'b'.repeat(64) });
  again.close();
  const r = verifyAuditText(readFileSync(file, 'utf8'));
  assert.deepEqual(r, { ok: true, entries: 4, lastHash: JSON.parse(readFileSync(file, 'utf8').trimEnd().split('\n')[3] as string).hash });
});

test('audit verify reports the edited line', async () => {
  const { file, lines } = genuineLog();
  lines[3] = (lines[3] as string).replace('10.0.0.3', '10.0.0.99');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const r = await verify(file);
  assert.equal(r.code, 1);
  assert.match(r.out, /edited at line 4 \(seq 3\)/);
});

test('audit verify reports an edited line whose own hash was recomputed', () => {
  const { lines } = genuineLog();
  const e = JSON.parse(lines[2] as string) as { data: { client: string } };
  e.data.client = '6.6.6.6';
  // recompute its hash with the library's own canonical form
  const forged = { ...e, hash: '' } as Record<string, unknown>;
  forged.hash = entryHash(forged as never);
  lines[2] = JSON.stringify(forged);
  const r = verifyAuditText(`${lines.join('\n')}\n`);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.line, 3);
  assert.equal(!r.ok && r.problem, 'edited');
});

test('audit verify reports where a line was deleted', async () => {
  const { file, lines } = genuineLog();
  lines.splice(2, 1); // remove seq 2
  writeFileSync(file, `${lines.join('\n')}\n`);
  const r = await verify(file);
  assert.equal(r.code, 1);
  assert.match(r.out, /removed at line 3 \(seq 3\).*seq 2 missing/);
});

test('audit verify reports the first of two swapped lines', async () => {
  const { file, lines } = genuineLog();
  [lines[3], lines[4]] = [lines[4] as string, lines[3] as string];
  writeFileSync(file, `${lines.join('\n')}\n`);
  const r = await verify(file);
  assert.equal(r.code, 1);
  assert.match(r.out, /reordered at line 4 \(seq 4\)/);
});

test('audit verify reports a removed first entry and a truncated line', () => {
  const { lines } = genuineLog();
  const noHead = verifyAuditText(`${lines.slice(1).join('\n')}\n`);
  assert.equal(!noHead.ok && noHead.problem, 'removed');
  assert.equal(!noHead.ok && noHead.line, 1);
  const truncated = verifyAuditText(`${lines.slice(0, 5).join('\n')}\n${(lines[5] as string).slice(0, 40)}\n`);
  assert.equal(!truncated.ok && truncated.problem, 'malformed');
  assert.equal(!truncated.ok && truncated.line, 6);
});

test('secrets in audit data are redacted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pc-audit-'));
  const file = join(dir, 'a.jsonl');
  const log = createAuditLog({ audit: { enabled: true, path: file } });
  log.write('admin.action', { by: 'admin', token: 'super-secret-token', nested: { password: 'pw' } });
  log.close();
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes('super-secret-token') && !text.includes('"pw"'));
  assert.equal(verifyAuditText(text).ok, true);
});

test('audit verify exits 2 on usage errors and unreadable files', async () => {
  assert.equal(
    await auditCommand(
      ['check', 'x'],
      () => {},
      () => {},
    ),
    2,
  );
  assert.equal(
    await auditCommand(
      ['verify', '/nonexistent/audit.jsonl'],
      () => {},
      () => {},
    ),
    2,
  );
});

test('a disabled audit log writes nothing', () => {
  const log = createAuditLog({ audit: { enabled: false, path: '/nonexistent/x' } });
  assert.equal(log.path, null);
  log.write('x', {});
});
