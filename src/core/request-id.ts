/**
 * Request ids: random (version 4) UUIDs, as `crypto.randomUUID()` makes them, from the same
 * CSPRNG. Why not randomUUID itself: it builds each id from 20 string concatenations, and the
 * result is flattened again wherever it is used (header validation, the response head, the
 * access log); on the proxy's hot path that cost several thousand instructions per request.
 * Here the random bytes of 128 ids are drawn at once and written as text into a buffer, and each
 * id is one flat string copied from it.
 */
import { randomFillSync } from 'node:crypto';

const BATCH = 128;
const random = Buffer.allocUnsafe(16 * BATCH);
const text = Buffer.allocUnsafe(36 * BATCH);
const HEX = Buffer.from('0123456789abcdef', 'latin1');
let next = BATCH;

function refill(): void {
  randomFillSync(random);
  let t = 0;
  for (let i = 0; i < random.length; i++) {
    const j = i & 15;
    let b = random[i] as number;
    if (j === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (j === 8) b = (b & 0x3f) | 0x80; // variant 10 (RFC 9562)
    if (j === 4 || j === 6 || j === 8 || j === 10) text[t++] = 0x2d;
    text[t++] = HEX[b >> 4] as number;
    text[t++] = HEX[b & 15] as number;
  }
  next = 0;
}

/** A new random UUID (version 4, lowercase, 36 characters). */
export function newRequestId(): string {
  if (next === BATCH) refill();
  const o = 36 * next++;
  // a copy, not a slice of a shared string: an id kept somewhere does not keep the batch alive
  return text.toString('latin1', o, o + 36);
}
