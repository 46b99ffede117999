import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buildReport } from './index.js';

const FROM = new Date('2026-07-01T00:00:00Z');
const TO = new Date('2026-07-02T00:00:00Z');
const stream = (name: string, text: string) => ({ name, open: () => Readable.from([Buffer.from(text)]) });

test('lines that are not JSON objects with a time are skipped and counted; the rest are reported', async () => {
  const text = [
    'not json',
    '[1,2]',
    '{"no_time":1}',
    '{"level":"info","time":"2026-07-01T01:00:00.000Z","log":"access","client_ip":"10.0.0.1","status":200,"decision":"allowed"}',
    '{"level":"info","time":"2026-08-01T01:00:00.000Z","log":"access","client_ip":"10.0.0.1","status":200,"decision":"allowed"}',
    '{"level":"info","time":"2026-07-01T02:00:00.000Z","log":"access","client_ip":"10.0.0.1","status":403,"decision":{"stage":"intake","code":"PC_ERR_PATH_TRAVERSAL","reason":null}',
  ].join('\n');
  const r = await buildReport({ from: FROM, to: TO, accessLogs: [stream('mem', text)] });
  assert.deepEqual(r.sources.accessLogs, [{ path: 'mem', lines: 6, used: 1, unreadable: 4, oversized: 0 }]);
  assert.equal(r.traffic.requests, 1);
  assert.equal(r.auditChain.checked, false);
});

test('an empty period is refused', async () => {
  await assert.rejects(buildReport({ from: TO, to: FROM, accessLogs: [] }), RangeError);
});

test('the audit chain verdict of a streamed log is the one of `portcullis audit verify`, for intact and tampered logs alike', async () => {
  const { makeLine, makeCheckpoint, verifyAuditText, verifyCheckpoints } = await import('../observe/audit.js');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-report-chain-'));
  const lines: string[] = [];
  let prev: { line: string | null; seq: number } = { line: null, seq: -1 };
  for (let i = 0; i < 8; i++) {
    const { line } = makeLine(prev, 'ban_placed', { client: `10.0.0.${i}` }, Date.parse('2026-07-01T01:00:00Z') + i * 1000);
    lines.push(line);
    prev = { line, seq: prev.seq + 1 };
  }
  const key = Buffer.from('k'.repeat(32));
  const cps = `${makeCheckpoint(key, 4, lines[3]!, Date.now())}\n${makeCheckpoint(key, 8, lines[7]!, Date.now())}\n`;
  const variants: Record<string, string[]> = {
    intact: lines,
    edited: lines.map((l, i) => (i === 2 ? l.replace('10.0.0.2', '10.0.0.9') : l)),
    removed: lines.filter((_, i) => i !== 3),
    reordered: [lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)],
    'empty line': [...lines.slice(0, 4), '', ...lines.slice(4)],
    truncated: lines.slice(0, 6),
  };
  for (const [name, v] of Object.entries(variants)) {
    const text = `${v.join('\n')}\n`;
    const file = join(dir, `${name.replace(' ', '-')}.jsonl`);
    writeFileSync(file, text);
    writeFileSync(`${file}.cp`, cps);
    const r = await buildReport({ from: FROM, to: TO, accessLogs: [], auditLog: file, checkpoints: { path: `${file}.cp`, key } });
    const want = verifyAuditText(text);
    assert.equal(r.auditChain.ok, want.ok, name);
    assert.equal(r.auditChain.entries, want.entries, name);
    if (!want.ok) assert.ok(r.auditChain.message.endsWith(want.message), `${name}: ${r.auditChain.message}`);
    const cp = verifyCheckpoints(text, cps, key);
    assert.equal(r.auditChain.checkpoints?.status, cp.status, name);
    if (cp.status !== 'ok') assert.equal(r.auditChain.checkpoints?.message, cp.message, name);
  }
});
