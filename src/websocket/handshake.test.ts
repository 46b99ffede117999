import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { handshakeRefusal, offeredProtocols, originAllowed, originPolicy, type Handshake } from './handshake.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='; // RFC 6455 section 1.3's example nonce
const good: IncomingHttpHeaders = {
  host: 'api.example.com',
  connection: 'keep-alive, Upgrade',
  upgrade: 'websocket',
  'sec-websocket-version': '13',
  'sec-websocket-key': KEY,
};
const hs = (headers: IncomingHttpHeaders, over: Partial<Handshake> = {}): Handshake => ({
  method: 'GET',
  httpVersionMinor: 1,
  headers,
  hasBody: false,
  ...over,
});

test('a well-formed handshake passes; each broken field is refused with its reason', () => {
  assert.equal(handshakeRefusal(hs(good), null), undefined);
  const cases: [Handshake, string, number?][] = [
    [hs(good, { method: 'POST' }), 'a WebSocket handshake is a GET'],
    [hs(good, { httpVersionMinor: 0 }), 'a WebSocket handshake needs HTTP/1.1'],
    [hs(good, { hasBody: true }), 'a WebSocket handshake has no body'],
    [hs({ ...good, connection: 'keep-alive' }), 'Connection does not name upgrade'],
    [hs({ ...good, 'sec-websocket-version': '8' }), 'Sec-WebSocket-Version is not 13', 426],
    [hs({ ...good, 'sec-websocket-version': undefined }), 'Sec-WebSocket-Version is not 13', 426],
    [hs({ ...good, 'sec-websocket-key': 'short' }), 'Sec-WebSocket-Key is not 16 bytes in base64'],
    [hs({ ...good, 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZR==' }), 'Sec-WebSocket-Key is not 16 bytes in base64'],
    [hs({ ...good, 'sec-websocket-protocol': 'chat, chat' }), 'Sec-WebSocket-Protocol is malformed'],
  ];
  for (const [h, reason, status] of cases) {
    const d = handshakeRefusal(h, null);
    assert.equal(d?.reason, reason);
    assert.equal(d?.code, 'PC_ERR_WEBSOCKET_HANDSHAKE');
    assert.equal(d?.status, status);
  }
  assert.deepEqual(handshakeRefusal(hs({ ...good, 'sec-websocket-version': '8' }), null)?.headers, { 'sec-websocket-version': '13' });
});

test('subprotocols are read as a bounded list of distinct tokens', () => {
  assert.deepEqual(offeredProtocols(undefined), []);
  assert.deepEqual(offeredProtocols('chat.v1, chat.v0'), ['chat.v1', 'chat.v0']);
  assert.deepEqual(offeredProtocols(['a', 'b, c']), ['a', 'b', 'c']);
  for (const bad of ['', 'a,,b', 'a b', 'a, a', 'x"y', Array.from({ length: 17 }, (_, i) => `p${i}`).join(',')]) assert.equal(offeredProtocols(bad), null, bad);
});

test('origins: a listed origin, any with *, the same host by default, none without an Origin field', () => {
  const listed = originPolicy(['https://app.example.com', 'HTTPS://Other.example:8443/']);
  assert.equal(originAllowed('https://app.example.com', listed, 'api.example.com'), true);
  assert.equal(originAllowed('https://APP.example.com', listed, 'api.example.com'), true);
  assert.equal(originAllowed('https://other.example:8443', listed, 'x'), true);
  assert.equal(originAllowed('https://evil.example', listed, 'api.example.com'), false);
  assert.equal(originAllowed('null', listed, 'api.example.com'), false);
  assert.equal(originAllowed('https://evil.example', originPolicy(['*']), 'api.example.com'), true);
  const same = originPolicy(undefined);
  assert.equal(originAllowed('https://api.example.com', same, 'api.example.com'), true);
  assert.equal(originAllowed('http://api.example.com:8080', same, 'API.example.com:8080'), true);
  assert.equal(originAllowed('https://api.example.com.evil.example', same, 'api.example.com'), false);
  assert.equal(originAllowed('https://api.example.com:444', same, 'api.example.com'), false);
  assert.equal(originAllowed('null', same, 'api.example.com'), false);
  assert.equal(originAllowed('file://api.example.com', same, 'api.example.com'), false);
  assert.equal(originAllowed(undefined, same, 'api.example.com'), true);
  // refused before the stages, as 403
  assert.equal(handshakeRefusal(hs({ ...good, origin: 'https://evil.example' }), null)?.code, 'PC_ERR_WEBSOCKET_ORIGIN');
  assert.equal(
    handshakeRefusal(hs({ ...good, origin: ['https://api.example.com', 'https://api.example.com'] as unknown as string }), null)?.code,
    'PC_ERR_WEBSOCKET_ORIGIN',
  );
});
