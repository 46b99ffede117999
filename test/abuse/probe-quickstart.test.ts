/**
 * `portcullis probe` against the quickstart (examples/quickstart: its config, OpenAPI document,
 * dev JWT key and demo API), with its default options apart from the ports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probeCommand } from '../../src/cli/probe.js';

import { quickstart } from '../helpers/quickstart.js';

async function probe(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await probeCommand(
    args,
    (s) => lines.push(s),
    (s) => lines.push(s),
  );
  return { code, out: lines.join('\n') };
}

test('portcullis probe passes every step against the quickstart and exits 0', async (t) => {
  const { gw, close } = await quickstart();
  try {
    const r = await probe([gw.url, '--admin', gw.adminUrl ?? '']);
    t.diagnostic(r.out);
    assert.equal(r.code, 0, r.out);
    // the quickstart's WebSocket echo (/ws/echo) is probed too: 401 without a token, never a 101
    assert.match(r.out.split('\n').find((l) => l.startsWith('WebSocket without a token')) ?? '', /401 PC_ERR_AUTH_REQUIRED +PASS$/, r.out);
  } finally {
    await close();
  }
});

test('against the quickstart with authentication turned off on the probed route, the probe reports that step failed and exits 1', async () => {
  const { gw, close } = await quickstart((doc) => doc.setIn(['apis', 0, 'overrides'], { listItems: { auth: 'none' } }));
  try {
    const r = await probe([gw.url, '--admin', gw.adminUrl ?? '']);
    assert.equal(r.code, 1, r.out);
    const line = r.out.split('\n').find((l) => l.startsWith('call without a token')) ?? '';
    assert.match(line, /200 +FAIL$/, r.out);
    assert.equal(r.out.split('\n').filter((l) => l.endsWith('FAIL')).length, 1, r.out);
  } finally {
    await close();
  }
});
