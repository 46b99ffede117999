/**
 * The quickstart's WebSocket echo route (issue 22 part 5): the demo API's /ws/echo behind the
 * gateway, with the quickstart's own config and dev token: no token gets 401 and no 101, a dev
 * token gets the echo, a cross-site page gets 403.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { quickstart, QUICKSTART } from '../helpers/quickstart.js';
import { devToken } from '../../src/stages/auth/dev-token.js';

function handshake(url: string, headers: Record<string, string>): Promise<{ status: number; message?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    ws.once('open', () => ws.send('hello'));
    ws.once('message', (m) => {
      ws.close();
      resolve({ status: 101, message: String(m) });
    });
    ws.once('error', reject);
  });
}

test('the quickstart WebSocket echo: 401 without a token, the echo with the dev token, 403 from another site', { timeout: 60_000 }, async () => {
  const { gw, close } = await quickstart();
  try {
    const url = `${gw.url.replace(/^http/, 'ws')}/ws/echo`;
    const token = devToken({ file: join(QUICKSTART, 'dev-jwt.json'), sub: 'quickstart-user', scopes: [], ttlS: 300, tenant: null, now: Date.now() });
    assert.deepEqual(await handshake(url, {}), { status: 401 });
    assert.deepEqual(await handshake(url, { authorization: `Bearer ${token}` }), { status: 101, message: 'echo: hello' });
    assert.deepEqual(await handshake(url, { authorization: `Bearer ${token}`, origin: 'https://evil.example' }), { status: 403 });
  } finally {
    await close();
  }
});
