import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { Base64Decoder, FrameMeter } from './framing.js';
import { parseGrpcTimeout } from './forward.js';

function frame(flag: number, len: number): Buffer {
  const b = Buffer.alloc(5 + len, 0x61);
  b[0] = flag;
  b.writeUInt32BE(len, 1);
  return b;
}

/** Splits `b` at the given cut points (sorted, deduplicated, within bounds). */
function split(b: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(b.subarray(prev, c));
    prev = c;
  }
  out.push(b.subarray(prev));
  return out;
}

test('the meter counts messages across any split of the stream and ends on a boundary', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (lens, cuts) => {
      const stream = Buffer.concat(lens.map((n) => frame(0, n)));
      const m = new FrameMeter(300);
      for (const part of split(stream, cuts)) assert.equal(m.push(part).ok, true);
      assert.equal(m.messages, lens.length);
      assert.equal(m.atBoundary, true);
    }),
  );
});

test('a message over the limit is refused as soon as its prefix is read, wherever the chunk boundaries fall', () => {
  fc.assert(
    fc.property(fc.integer({ min: 101, max: 100000 }), fc.array(fc.nat(), { maxLength: 6 }), (len, cuts) => {
      const prefix = frame(0, 0).subarray(0, 5);
      prefix.writeUInt32BE(len, 1);
      const stream = Buffer.concat([frame(0, 10), prefix, Buffer.alloc(3)]);
      const m = new FrameMeter(100);
      let verdict: ReturnType<FrameMeter['push']> = { ok: true };
      for (const part of split(stream, cuts)) {
        verdict = m.push(part);
        if (!verdict.ok) break;
      }
      assert.equal(verdict.ok, false);
      assert.equal(!verdict.ok && verdict.kind, 'too_large');
    }),
  );
});

test('flags: compressed (1) passes, unknown bits and a request trailers frame (0x80) are malformed', () => {
  assert.equal(new FrameMeter(10).push(frame(1, 2)).ok, true);
  for (const flag of [2, 0x40, 0x81, 0x80]) {
    const v = new FrameMeter(10).push(frame(flag, 2));
    assert.equal(v.ok, false, `flag ${flag}`);
    assert.equal(!v.ok && v.kind, 'malformed');
  }
  assert.equal(new FrameMeter(10, true).push(frame(0x80, 2)).ok, true, 'a gRPC-Web response may end with its trailers frame');
});

test('a stream cut inside a message or a prefix is not at a boundary', () => {
  const m = new FrameMeter(100);
  m.push(frame(0, 10).subarray(0, 8));
  assert.equal(m.atBoundary, false);
  const p = new FrameMeter(100);
  p.push(Buffer.from([0, 0]));
  assert.equal(p.atBoundary, false);
});

test('base64 text decodes the same whatever the chunking, padded segments one after another included', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 10 }), (segments, cuts) => {
      // each segment encoded on its own (padding in the middle), as gRPC-Web clients may send it
      const text = Buffer.from(segments.map((s) => Buffer.from(s).toString('base64')).join(''), 'latin1');
      const d = new Base64Decoder();
      const out: Buffer[] = [];
      for (const part of split(text, cuts)) {
        const b = d.push(part);
        assert.notEqual(b, null);
        out.push(b as Buffer);
      }
      assert.equal(d.complete, true);
      assert.deepEqual(Buffer.concat(out), Buffer.concat(segments.map((s) => Buffer.from(s))));
    }),
  );
});

test('text that is not base64 is refused, and a cut group is not complete', () => {
  assert.equal(new Base64Decoder().push(Buffer.from('ab$d')), null);
  const d = new Base64Decoder();
  d.push(Buffer.from('QUJD' + 'QQ'));
  assert.equal(d.complete, false);
});

const TIMEOUTS: [string | undefined, number | null | undefined][] = [
  [undefined, undefined],
  ['1S', 1000],
  ['250m', 250],
  ['2M', 120000],
  ['1H', 3600000],
  ['1500u', 2],
  ['99999999n', 100],
  ['12345678m', 12345678],
  ['123456789m', null],
  ['10', null],
  ['10s', null],
  ['-1S', null],
  [' 1S', null],
  ['', null],
];

test('grpc-timeout: units H M S m u n, at most 8 digits, rounded up to the millisecond', () => {
  for (const [v, want] of TIMEOUTS) assert.equal(parseGrpcTimeout(v), want, String(v));
});
