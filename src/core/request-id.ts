/**
 * Request ids: random (version 4) UUIDs, as `crypto.randomUUID()` makes them, from the same
 * CSPRNG. Why not randomUUID itself: it builds each id from 20 string concatenations, and the
 * result is flattened again wherever it is used (header validation, the response head, the
 * access log); on the proxy's hot path that cost several thousand instructions per request.
 * Here the random bytes of 1,024 ids are drawn at once (a call to the CSPRNG costs about 20k
 * instructions, measured under callgrind, whatever the size), 128 ids are written as one string,
 * and each id is a slice of it.
 */
import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';

const BATCH = 128;
/** batches of ids per draw of random bytes */
const DRAWS = 8;
const random = Buffer.allocUnsafe(16 * BATCH * DRAWS);
/** where the next batch's random bytes start; a new draw when all were used */
let drawn = random.length;
const text = Buffer.allocUnsafe(36 * BATCH);
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** the ids of the current batch, one string; each id is a slice of it */
let batch = '';
let next = BATCH;

// the dashes never move: written once
for (let t = 0; t < text.length; t += 36) for (const d of [8, 13, 18, 23]) text[t + d] = 0x2d;

/** the two hex digits of the byte at random[r] into text[o], text[o + 1] */
function hex2(o: number, r: number): void {
  const b = random[r] as number;
  text[o] = HEX[b >> 4] as number;
  text[o + 1] = HEX[b & 15] as number;
}

function refill(): void {
  if (drawn === random.length) {
    randomFillSync(random);
    drawn = 0;
  }
  const from = drawn;
  drawn += 16 * BATCH;
  for (let i = 0, r = from, t = 0; i < BATCH; i++, r += 16, t += 36) {
    random[r + 6] = ((random[r + 6] as number) & 0x0f) | 0x40; // version 4
    random[r + 8] = ((random[r + 8] as number) & 0x3f) | 0x80; // variant 10 (RFC 9562)
    // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx, unrolled: no test for a dash per byte
    hex2(t, r);
    hex2(t + 2, r + 1);
    hex2(t + 4, r + 2);
    hex2(t + 6, r + 3);
    hex2(t + 9, r + 4);
    hex2(t + 11, r + 5);
    hex2(t + 14, r + 6);
    hex2(t + 16, r + 7);
    hex2(t + 19, r + 8);
    hex2(t + 21, r + 9);
    hex2(t + 24, r + 10);
    hex2(t + 26, r + 11);
    hex2(t + 28, r + 12);
    hex2(t + 30, r + 13);
    hex2(t + 32, r + 14);
    hex2(t + 34, r + 15);
  }
  batch = text.toString('latin1');
  next = 0;
}

/**
 * A new random UUID (version 4, lowercase, 36 characters). A slice of the batch's string: it
 * shares the batch's characters (4.6 KB, kept while one of its ids lives), so no id is copied.
 */
export function newRequestId(): string {
  if (next === BATCH) refill();
  const o = 36 * next++;
  return batch.slice(o, o + 36);
}
