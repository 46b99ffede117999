/**
 * The heap seam (src/core/heap.ts) does what it says on this Node: with the growing factor capped,
 * a workload that promotes garbage steadily peaks far lower than without. It fails when a Node
 * upgrade brings a V8 the seam was not checked on, or one where the flag no longer acts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { heapGrowthSupported } from '../../src/core/heap.js';

const HEAP = fileURLToPath(new URL('../../src/core/heap.js', import.meta.url));

/** Peak heapTotal of a child process holding a ring of 100,000 objects replaced one by one (each promoted, then garbage). */
function peak(limit: boolean): number {
  const script = `
    ${limit ? `if (!(await import(${JSON.stringify(HEAP)})).limitHeapGrowth(50)) throw new Error('not applied');` : ''}
    const ring = new Array(100000);
    let peak = 0;
    for (let i = 0; i < 1000000; i++) {
      ring[i % ring.length] = { id: i, s: 'x'.repeat(200) + i, a: [i, i + 1, i + 2] };
      if (i % 2000 === 0) { peak = Math.max(peak, process.memoryUsage().heapTotal); await null; }
    }
    process.stdout.write(String(peak));`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 }));
}

test('this Node runs a V8 the heap seam was checked on', () => {
  assert.ok(heapGrowthSupported(), `V8 ${process.versions.v8}: re-check src/core/heap.ts and add its major`);
  assert.equal(heapGrowthSupported('10.2.154'), false);
});

test('capping the growing factor keeps the heap of a promoting workload well below the default peak', () => {
  const free = peak(false);
  const capped = peak(true);
  assert.ok(capped < free * 0.75, `peak heap ${(capped / 1048576).toFixed(0)} MB capped vs ${(free / 1048576).toFixed(0)} MB by default`);
});
