import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineWriter } from './line-writer.js';

test('every line reaches the file once, in order and intact, across batch boundaries and oversized lines', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'pc-lw-')), 'sub', 'access.log');
  const w = new LineWriter(path, { batchBytes: 1024, flushMs: 5 });
  const want: string[] = [];
  for (let i = 0; i < 5000; i++) {
    // lines are ASCII (access-log lines write non-ASCII characters as JSON \u escapes)
    const line =
      i % 997 === 0
        ? `{"i":${i},"big":"${'\\u00e9\\u20ac'.repeat(2000)}"}`
        : `{"i":${i},"t":"O'Brien \\u2014 \\u00fcn\\u00efc\\u00f8d\\u00e9 ${'x'.repeat(i % 50)}"}`;
    want.push(line);
    w.write(`${line}\n`);
    if (i % 1000 === 0) await new Promise((r) => setTimeout(r, 10)); // let the timer flush a partial batch
  }
  await w.close();
  const got = readFileSync(path, 'utf8').split('\n');
  assert.equal(got.pop(), '');
  assert.equal(got.length, want.length);
  assert.deepEqual(got, want);
  w.write('{"after":"close"}\n'); // ignored, no throw
});

test('lines are dropped and counted when a stream sink falls behind, not buffered without limit', async () => {
  const { Writable } = await import('node:stream');
  let received = 0;
  // a sink that takes 20 ms per chunk
  const slow = new Writable({
    write(chunk: Buffer, _enc, cb) {
      received += chunk.toString().split('\n').length - 1;
      setTimeout(cb, 20);
    },
  });
  let dropped = 0;
  const w = new LineWriter(slow, { batchBytes: 4096, maxBacklog: 8192, onDrop: (n) => (dropped += n) });
  for (let i = 0; i < 2000; i++) w.write(`${'y'.repeat(100)}\n`);
  await w.close();
  await new Promise<void>((r) => slow.end(r));
  assert.ok(dropped > 0, 'some lines dropped');
  assert.ok(slow.writableHighWaterMark > 0);
  assert.equal(received + dropped, 2000);
});

test('close() on a stream nobody reads waits at most its bound, and counts the lines not handed over as dropped', async () => {
  const { Writable } = await import('node:stream');
  // a sink that never completes a write: a pipe whose reader stalled
  const stalled = new Writable({ write: () => undefined });
  let dropped = 0;
  const w = new LineWriter(stalled, { batchBytes: 1024, onDrop: (n) => (dropped += n) });
  for (let i = 0; i < 300; i++) w.write(`{"i":${i},"pad":"${'z'.repeat(40)}"}\n`);
  const lost = await w.close(20);
  assert.equal(lost, 300, 'none of the lines reached the sink');
  assert.equal(dropped, 300, 'and all are counted in the dropped-lines metric');
  assert.equal(await w.close(20), 0, 'a second close has nothing left');
});

test('abort() ends a waiting close() at once; lines the sink took are not counted', async () => {
  const { Writable } = await import('node:stream');
  let taken = 0;
  // takes the first chunk, then stalls
  const sink = new Writable({
    highWaterMark: 1,
    write(_chunk: Buffer, _enc, cb) {
      if (taken++ === 0) cb();
    },
  });
  let dropped = 0;
  const w = new LineWriter(sink, { batchBytes: 64, onDrop: (n) => (dropped += n) });
  for (let i = 0; i < 10; i++) w.write(`${'a'.repeat(40)}\n`); // one line per 64-byte batch
  await new Promise((r) => setImmediate(r)); // write callbacks run on a later tick
  const closing = w.close(60_000);
  w.abort();
  assert.equal(await closing, 9, 'the first line was handed over, nine were not');
  assert.equal(dropped, 9);
});

test('close() on a stream that drains resolves with nothing dropped', async () => {
  const { Writable } = await import('node:stream');
  let received = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      received += chunk.toString().split('\n').length - 1;
      setTimeout(cb, 5);
    },
  });
  let dropped = 0;
  const w = new LineWriter(sink, { batchBytes: 256, onDrop: (n) => (dropped += n) });
  for (let i = 0; i < 100; i++) w.write(`${'b'.repeat(30)}\n`);
  assert.equal(await w.close(60_000), 0);
  assert.equal(dropped, 0);
  assert.equal(received, 100);
});
