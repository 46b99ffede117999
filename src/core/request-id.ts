/**
 * Request ids: random (version 4) UUIDs, as `crypto.randomUUID()` makes them, from the same
 * CSPRNG. Why not randomUUID itself: it builds each id from 20 string concatenations, and the
 * result is flattened again wherever it is used (header validation, the response head, the
 * access log); on the proxy's hot path that cost several thousand instructions per request.
 * Here the random bytes of 128 ids are drawn at once and written as one string, and each id is
 * a slice of it.
 */
import { Buffer } from 'node:buffer';
import { randomFillSync } from 'node:crypto';

const BATCH = 128;
const random = Buffer.allocUnsafe(16 * BATCH);
const text = Buffer.allocUnsafe(36 * BATCH);
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** the ids of the current batch, one string; each id is a slice of it */
let batch = '';
let next = BATCH;

function refill(): void {
  randomFillSync(random);
  for (let i = 0, r = 0, t = 0; i < BATCH; i++, r += 16, t += 36) {
    random[r + 6] = ((random[r + 6] as number) & 0x0f) | 0x40; // version 4
    random[r + 8] = ((random[r + 8] as number) & 0x3f) | 0x80; // variant 10 (RFC 9562)
    // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx
    let o = t;
    for (let k = 0; k < 16; k++) {
      if (k === 4 || k === 6 || k === 8 || k === 10) text[o++] = 0x2d;
      const b = random[r + k] as number;
      text[o++] = HEX[b >> 4] as number;
      text[o++] = HEX[b & 15] as number;
    }
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
