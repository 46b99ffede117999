/**
 * `portcullis probe` against the quickstart (examples/quickstart: its config, OpenAPI document,
 * dev JWT key and demo API), with its default options apart from the ports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseDocument } from 'yaml';
import { probeCommand } from '../../src/cli/probe.js';
import { startGateway } from '../helpers/gateway.js';
import { ABUSE_ADMIN_HANDLERS } from '../../src/admin/bans.js';

const QUICKSTART = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/quickstart');

async function quickstart(edit: (doc: ReturnType<typeof parseDocument>) => void = () => {}) {
  const mod = (await import(pathToFileURL(join(QUICKSTART, 'demo-api.mjs')).href)) as { createDemoApi(): http.Server };
  const api = mod.createDemoApi();
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'pc-quickstart-'));
  cpSync(QUICKSTART, dir, { recursive: true });
  const doc = parseDocument(readFileSync(join(QUICKSTART, 'portcullis.yaml'), 'utf8'));
  edit(doc);
  const text = doc.toString().replaceAll('http://127.0.0.1:8081', apiUrl);
  writeFileSync(join(dir, 'portcullis.yaml'), text);
  const gw = await startGateway(text, { dir, adminHandlers: ABUSE_ADMIN_HANDLERS });
  return {
    gw,
    close: async () => {
      await gw.close();
      api.closeAllConnections();
      await new Promise((r) => api.close(r));
    },
  };
}

async function probe(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await probeCommand(args, (s) => lines.push(s), (s) => lines.push(s));
  return { code, out: lines.join('\n') };
}

test('portcullis probe passes every step against the quickstart and exits 0', async (t) => {
  const { gw, close } = await quickstart();
  try {
    const r = await probe([gw.url, '--admin', gw.adminUrl ?? '']);
    t.diagnostic(r.out);
    assert.equal(r.code, 0, r.out);
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
