import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeWithin } from './stop.js';

test('closeWithin resolves at its deadline with the closers that did not finish or failed, and aborts them', async () => {
  const aborted: string[] = [];
  let slowClosed = false;
  const unfinished = await closeWithin(
    [
      { name: 'quick', close: () => undefined, abort: () => aborted.push('quick') },
      { name: 'async', close: () => new Promise<void>((r) => setTimeout(r, 1)), abort: () => aborted.push('async') },
      { name: 'stalled', close: () => new Promise<void>(() => undefined), abort: () => aborted.push('stalled') },
      {
        name: 'failing',
        close: () => Promise.reject(new Error('no')),
        abort: () => {
          aborted.push('failing');
          throw new Error('abort failed too'); // still reported, nothing thrown
        },
      },
      { name: 'slow, no abort', close: () => new Promise<void>((r) => setTimeout(() => r(void (slowClosed = true)), 10_000).unref()) },
    ],
    50,
  );
  assert.deepEqual(unfinished, ['stalled', 'failing', 'slow, no abort']);
  assert.deepEqual(aborted, ['stalled', 'failing']);
  assert.equal(slowClosed, false);
});

test('closeWithin with nothing to close, or everything quick, reports nothing unfinished', async () => {
  assert.deepEqual(await closeWithin([], 10_000), []);
  assert.deepEqual(await closeWithin([{ name: 'a', close: async () => undefined }], 10_000), []);
});
