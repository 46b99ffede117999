import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { parsePairs, pairsToRecord, parseUrlEncoded, countPairs, nameProblem, rootName } from './form.js';
import { readBody } from './read.js';
import { DEFAULT_JSON_LIMITS } from './json.js';
import { DEFAULT_FORM_LIMITS } from './form.js';
import { DEFAULT_MULTIPART_LIMITS } from './multipart.js';
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
  const framed = fc.array(
    fc.oneof(
      fc.constant(`--${b}\r\n`),
      fc.constant('Content-Disposition: form-data; name="a"\r\n\r\n'),
      fc.constant(`\r\n--${b}--`),
      fc.string({ maxLength: 20 }),
    ),
    { maxLength: 12 },
  );
  fc.assert(
    fc.property(framed, fc.uint8Array({ maxLength: 50 }), (pieces, bytes) => {
      const r = parseMultipart(Buffer.concat([Buffer.from(pieces.join(''), 'latin1'), Buffer.from(bytes)]), b);
      return typeof r.ok === 'boolean';
    }),
    { numRuns: 500 },
  );
});

test('parameter names upstream parsers read differently are refused; JSON:API-style brackets pass (table)', () => {
  const ok = ['limit', 'a[]', 'a[0]', 'filter[status]', 'page[size]', 'a.b', 'a]b', 'a[b][c]', 'x y'];
  const bad: [string, string][] = [
    ['', 'malformed'],
    ['[a]', 'malformed'],
    ['a[b', 'malformed'],
    ['a[b]c', 'malformed'],
    ['a[b[c]]', 'malformed'],
    ['a]b[c]', 'malformed'],
    ['__proto__', 'forbidden_key'],
    ['toString', 'forbidden_key'],
    ['hasOwnProperty', 'forbidden_key'],
    ['a[constructor]', 'forbidden_key'],
    ['a.toString', 'forbidden_key'],
    ['valueOf[x]', 'forbidden_key'],
  ];
  for (const n of ok) assert.equal(nameProblem(n), null, n);
  for (const [n, code] of bad) assert.equal(nameProblem(n)?.code, code, n);
  assert.equal(rootName('limit[0]'), 'limit');
  assert.equal(rootName('limit'), 'limit');
});

test('pairs that qs splits or merges otherwise than a flat parser are refused (table)', () => {
  const refused = [
    'a=x]=y',
    'a=x%5D=y',
    'a=x%5d=y',
    'A=%26;a%5Bb%5D=a=b',
    'a=1&a[b]=2',
    'a[b]=1&a[b][c]=2',
    'a=1&a.b=2',
    'a=&a[]=1',
    'a.b=1&a[b]=2',
    'a[0]=1&a[00]=2',
    'a[]=1&a[0]=2',
  ];
  const read = ['a[]=1&a[]=2', 'a[0]=1&a[1]=2', 'a[b]=1&a[c]=2', 'a=1&a=2', 'q=x%5D%3Dy', 'a[b]=x=y', 'filter[a]=1&filter[b]=2'];
  for (const q of refused) assert.equal(parsePairs(q).ok, false, q);
  for (const q of read) assert.equal(parsePairs(q).ok, true, q);
});

test('a text body that starts with a byte order mark has no single reading and is refused; NDJSON lines are read one by one', () => {
  const limits = { json: DEFAULT_JSON_LIMITS, form: DEFAULT_FORM_LIMITS, multipart: DEFAULT_MULTIPART_LIMITS };
  const json = parseMediaType('application/json');
  const nd = parseMediaType('application/x-ndjson');
  assert.ok(json.ok && nd.ok);
  const bom = readBody(Buffer.from('\ufeff{"a":1}'), json.media, limits);
  assert.ok(!bom.ok && bom.code === 'malformed');
  const lines = readBody(Buffer.from('{"a":1}\r\n\n{"b":[2]}\n'), nd.media, limits);
  assert.ok(lines.ok && lines.reading.kind === 'ndjson');
  assert.deepEqual(lines.ok && lines.reading.kind === 'ndjson' && lines.reading.values, [{ a: 1 }, { b: [2] }]);
  const dup = readBody(Buffer.from('{"a":1}\n{"a":1,"a":2}'), nd.media, limits);
  assert.ok(!dup.ok && dup.code === 'duplicate_key' && /line 2/.test(dup.reason));
});

test('multipart parts keep their file names (filename* decoded first), content types and contents; charsets other than UTF-8 and transfer encodings are refused', () => {
  const b = 'B';
  const part = (head: string, body: string) => `--${b}\r\n${head}\r\n\r\n${body}\r\n`;
  const body = Buffer.from(
    `${part('Content-Disposition: form-data; name="f"; filename="plain.txt"; filename*=UTF-8\'\'%E2%82%AC.txt\r\nContent-Type: image/png', '\x89PNG')}--${b}--\r\n`,
    'latin1',
  );
  const r = parseMultipart(body, b);
  assert.ok(r.ok);
  assert.deepEqual(r.ok && r.parts[0], { name: 'f', filenames: ['\u20ac.txt', 'plain.txt'], contentType: 'image/png', value: '\x89PNG' });
  for (const head of [
    'Content-Disposition: form-data; name="a"\r\nContent-Type: text/plain; charset=utf-7',
    'Content-Disposition: form-data; name="a"\r\nContent-Transfer-Encoding: base64',
    'Content-Disposition: form-data; name="a"; name="b"',
    'Content-Disposition: form-data; name="a"\r\nContent-Disposition: form-data; name="b"',
  ]) {
    assert.equal(parseMultipart(Buffer.from(`${part(head, 'x')}--${b}--`), b).ok, false, head);
  }
  assert.equal(parseMultipart(Buffer.from(`${part('Content-Disposition: form-data; name="_charset_"', 'iso-8859-1')}--${b}--`), b).ok, false);
});
