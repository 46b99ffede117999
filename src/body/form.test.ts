import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { parsePairs, pairsToRecord, parseUrlEncoded, countPairs } from './form.js';
import { parseMultipart, validBoundary } from './multipart.js';
import { parseMediaType } from './media.js';
import { mediaTypeOf, bodyKind } from './media.js';

test('decodes urlencoded pairs once, with plus as space and repeated names as arrays', () => {
  const r = parseUrlEncoded(Buffer.from('a=1&b=x+y&a=2&c=%26%3D&flag&&'));
  assert.equal(r.ok, true);
  assert.deepEqual(r.ok && { ...r.value }, { a: ['1', '2'], b: 'x y', c: '&=', flag: '' });
  assert.equal(Object.getPrototypeOf(r.ok && r.value), null);
});

test('rejects malformed percent-encoding, forbidden names and too many pairs', () => {
  const bad = parsePairs('a=%zz');
  assert.equal(!bad.ok && bad.code, 'malformed');
  const proto = parsePairs('__proto__=1');
  assert.equal(!proto.ok && proto.code, 'forbidden_key');
  const many = parsePairs('a=1&b=2&c=3', { maxParams: 2, maxValueLength: 10 });
  assert.equal(!many.ok && many.code, 'too_many_params');
  const long = parsePairs('a=12345678901', { maxParams: 2, maxValueLength: 10 });
  assert.equal(!long.ok && long.code, 'too_long');
});

test('counts query pairs without decoding', () => {
  assert.equal(countPairs(''), 0);
  assert.equal(countPairs('a=1&&b&c='), 3);
  assert.deepEqual({ ...pairsToRecord([['x', '1']]) }, { x: '1' });
});

const boundaryOf = (ct: string): string | null => {
  const m = parseMediaType(ct);
  return m.ok ? validBoundary(m.media.params.get('boundary')) : null;
};

test('parses multipart fields and file parts, and rejects bad framing', () => {
  const b = 'XyZ123';
  const body = Buffer.from(
    `--${b}\r\nContent-Disposition: form-data; name="name"\r\n\r\nwidget\r\n` +
      `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\r\n` +
      `--${b}\r\nContent-Disposition: form-data; name="tag"\r\n\r\na\r\n--${b}\r\nContent-Disposition: form-data; name="tag"\r\n\r\nb\r\n--${b}--\r\n`,
    'latin1',
  );
  assert.equal(boundaryOf(`multipart/form-data; boundary=${b}`), b);
  assert.equal(boundaryOf('multipart/form-data; boundary="a b"'), 'a b');
  assert.equal(boundaryOf('multipart/form-data'), null);
  const r = parseMultipart(body, b);
  assert.equal(r.ok, true);
  assert.deepEqual(r.ok && { ...r.value }, { name: 'widget', file: '\x00\x01', tag: ['a', 'b'] });
  assert.ok(r.ok && r.files.has('file'));
  const unterminated = parseMultipart(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="a"\r\n\r\nx`), b);
  assert.equal(unterminated.ok, false);
  const proto = parseMultipart(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\nx\r\n--${b}--`), b);
  assert.equal(!proto.ok && proto.code, 'forbidden_key');
  const many = parseMultipart(body, b, { maxParts: 2, maxPartBytes: 100, maxPartHeaderBytes: 200 });
  assert.equal(!many.ok && many.code, 'too_many_parts');
});

test('selects the body parser from the media type essence', () => {
  assert.equal(mediaTypeOf('Application/JSON; charset=utf-8'), 'application/json');
  assert.equal(mediaTypeOf('garbage'), '');
  assert.equal(bodyKind('application/merge-patch+json'), 'json');
  assert.equal(bodyKind('application/x-www-form-urlencoded'), 'form');
  assert.equal(bodyKind('multipart/form-data'), 'multipart');
  assert.equal(bodyKind('text/plain'), 'text');
  assert.equal(bodyKind('application/octet-stream'), 'other');
});

test('the form and multipart parsers never throw on arbitrary input (property)', async () => {
  const fc = (await import('fast-check')).default;
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      const r = parsePairs(s);
      return typeof r.ok === 'boolean';
    }),
    { numRuns: 500 },
  );
  const b = 'bb';
  const framed = fc.array(fc.oneof(fc.constant(`--${b}\r\n`), fc.constant('Content-Disposition: form-data; name="a"\r\n\r\n'), fc.constant(`\r\n--${b}--`), fc.string({ maxLength: 20 })), { maxLength: 12 });
  fc.assert(
    fc.property(framed, fc.uint8Array({ maxLength: 50 }), (pieces, bytes) => {
      const r = parseMultipart(Buffer.concat([Buffer.from(pieces.join(''), 'latin1'), Buffer.from(bytes)]), b);
      return typeof r.ok === 'boolean';
    }),
    { numRuns: 500 },
  );
});
