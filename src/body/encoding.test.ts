import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { decodeBody, isEncoded, parseCodings } from './encoding.js';

const LIMITS = { maxBytes: 65536, maxRatio: 100 };
const text = Buffer.from('{"name":"lamp","tags":["a","b"]}');

test('gzip, x-gzip, deflate (zlib) and br are undone, in the reverse order they were applied', async () => {
  for (const [coding, body] of [
    ['gzip', gzipSync(text)],
    ['X-GZIP', gzipSync(text)],
    ['deflate', deflateSync(text)],
    ['br', brotliCompressSync(text)],
    ['gzip, br', brotliCompressSync(gzipSync(text))],
    ['identity, gzip', gzipSync(text)],
  ] as const) {
    const r = await decodeBody(body, coding, LIMITS);
    assert.ok(r.ok && r.decoded, coding);
    assert.equal(r.body.toString(), text.toString(), coding);
  }
  const plain = await decodeBody(text, 'identity', LIMITS);
  assert.ok(plain.ok && !plain.decoded && plain.body === text);
});

test('unknown codings, more than two, and data that is not what it says are refused', async () => {
  assert.equal(typeof parseCodings('compress'), 'string');
  assert.equal(typeof parseCodings('gzip, gzip, gzip'), 'string');
  const unknown = await decodeBody(text, 'compress', LIMITS);
  assert.ok(!unknown.ok && unknown.code === 'unsupported');
  const raw = await decodeBody(deflateRawSync(text), 'deflate', LIMITS);
  assert.ok(!raw.ok && raw.code === 'malformed', 'raw deflate is not the zlib format HTTP names deflate');
  const garbage = await decodeBody(text, 'gzip', LIMITS);
  assert.ok(!garbage.ok && garbage.code === 'malformed');
  assert.equal(isEncoded(undefined), false);
  assert.equal(isEncoded('identity'), false);
  assert.equal(isEncoded(' gzip'), true);
});

test('a body that inflates beyond the ratio or the byte limit is refused before it is all allocated', async () => {
  const bomb = gzipSync(Buffer.alloc(10_000_000, 0x41));
  assert.ok(bomb.length < 20_000);
  const byRatio = await decodeBody(bomb, 'gzip', { maxBytes: 100_000_000, maxRatio: 100 });
  assert.ok(!byRatio.ok && byRatio.code === 'too_large' && /100x/.test(byRatio.reason));
  const byBytes = await decodeBody(gzipSync(Buffer.alloc(70_000, 0x41)), 'gzip', { maxBytes: 65536, maxRatio: 100_000 });
  assert.ok(!byBytes.ok && byBytes.code === 'too_large' && /65536 bytes/.test(byBytes.reason));
});
