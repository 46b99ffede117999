import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { forEachLine, MAX_LINE_BYTES, openLog } from './read.js';

async function lines(chunks: (string | Buffer)[]): Promise<{ got: string[]; lines: number; oversized: number }> {
  const got: string[] = [];
  const counts = { lines: 0, oversized: 0 };
  async function* gen(): AsyncGenerator<Buffer> {
    for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
  }
  await forEachLine(gen(), (l) => got.push(l), counts);
  return { got, ...counts };
}

test('splits lines across chunk boundaries, skips empty lines and reads a last line without a newline', async () => {
  const r = await lines(['{"a":1}\n{"b"', ':2}\n\n', '{"c":3', '}\n{"d":4}']);
  assert.deepEqual(r.got, ['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}']);
  assert.equal(r.lines, 4);
});

test('a multi-byte character split between chunks is decoded whole', async () => {
  const b = Buffer.from('{"t":"é€"}\n');
  const r = await lines([b.subarray(0, 8), b.subarray(8)]);
  assert.deepEqual(r.got, ['{"t":"é€"}']);
});

test('a line longer than the limit is skipped and counted, within one chunk and across many', async () => {
  const long = 'x'.repeat(MAX_LINE_BYTES + 1);
  const r1 = await lines([`a\n${long}\nb\n`]);
  assert.deepEqual(r1.got, ['a', 'b']);
  assert.equal(r1.oversized, 1);
  const piece = 'y'.repeat(64 * 1024);
  const r2 = await lines(['a\n', ...Array.from({ length: 8 }, () => piece), '\nb\n']);
  assert.deepEqual(r2.got, ['a', 'b']);
  assert.equal(r2.oversized, 1);
  assert.equal(r2.lines, 3);
});

test('openLog reads a .gz file through gunzip', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-read-'));
  const file = join(dir, 'access.log.gz');
  writeFileSync(file, gzipSync('{"a":1}\n{"b":2}\n'));
  const got: string[] = [];
  await forEachLine(openLog(file), (l) => got.push(l), { lines: 0, oversized: 0 });
  assert.deepEqual(got, ['{"a":1}', '{"b":2}']);
});
