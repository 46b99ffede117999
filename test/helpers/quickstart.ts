/** The quickstart (examples/quickstart: its config, OpenAPI document, dev JWT key and demo API) on free ports. */
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseDocument } from 'yaml';
import { startGateway, type TestGateway } from './gateway.js';
import { ABUSE_ADMIN_HANDLERS } from '../../src/admin/bans.js';
import type { AdminHandler } from '../../src/admin/server.js';

export const QUICKSTART = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/quickstart');

/** Starts the demo API and the gateway with the quickstart config (edited by `edit`) on free ports, with the abuse admin API (or `adminHandlers`). */
export async function quickstart(
  edit: (doc: ReturnType<typeof parseDocument>) => void = () => {},
  adminHandlers: readonly AdminHandler[] = ABUSE_ADMIN_HANDLERS,
): Promise<{ gw: TestGateway; close(): Promise<void> }> {
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
  const gw = await startGateway(text, { dir, adminHandlers });
  return {
    gw,
    close: async () => {
      await gw.close();
      api.closeAllConnections();
      await new Promise((r) => api.close(r));
    },
  };
}

/** The quickstart's demo API alone (items, and a WebSocket echo at /ws/echo) on a free loopback port. */
export async function demoApi(): Promise<{ url: string; close(): Promise<void> }> {
  const mod = (await import(pathToFileURL(join(QUICKSTART, 'demo-api.mjs')).href)) as { createDemoApi(): http.Server };
  const server = mod.createDemoApi();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
