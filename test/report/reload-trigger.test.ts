/**
 * The audit entry of each config load says what triggered it (start, SIGHUP, a change of the file)
 * and the OS account of the gateway: the "who reloaded" of the compliance report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Gateway } from '../../src/gateway.js';

const CONFIG = (dir: string, note: string): string => `
version: 1
listeners: [{ port: 0 }]
access_log: { enabled: false }
audit: { enabled: true, path: ${join(dir, 'audit.jsonl')} }
upstreams:
  u: { targets: [{ url: "http://127.0.0.1:9" }] }
routes:
  - { id: r, match: { prefix: /api }, upstream: u, auth: none }
# ${note}
`;

const entries = (dir: string): { event: string; data: Record<string, unknown> }[] =>
  readFileSync(join(dir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { event: string; data: Record<string, unknown> });

async function until(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 25));
}

test('config loads are audited with their trigger (start, signal, file_change) and the process user', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-trigger-'));
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(file, CONFIG(dir, 'one'));
  const gw = await Gateway.start({ file, logger: pino({ level: 'silent' }), watch: true, handleSignals: true, portOverride: () => 0, adminDisabled: true });
  try {
    process.kill(process.pid, 'SIGHUP');
    await until(() => entries(dir).length >= 2);
    writeFileSync(file, CONFIG(dir, 'two'));
    await until(() => entries(dir).length >= 3);
    const got = entries(dir).map((e) => [e.event, e.data['trigger'], e.data['process_user']]);
    const user = userInfo().username;
    assert.deepEqual(got.slice(0, 3), [
      ['config_loaded', 'start', user],
      ['config_reloaded', 'signal', user],
      ['config_reloaded', 'file_change', user],
    ]);
  } finally {
    await gw.stop(0);
  }
});
