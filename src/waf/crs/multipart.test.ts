/** Vectors for the lenient multipart reader (ModSecurity's MULTIPART processor). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { multipartBoundary, parseDisposition, readMultipart } from './multipart.js';

const CT = 'multipart/form-data; boundary=b1';

test('reads fields and files with CRLF lines, keeping header lines and raising no flag', () => {
  const body =
    '--b1\r\nContent-Disposition: form-data; name="a"\r\n\r\nline1\r\nline2\r\n--b1\r\nContent-Disposition: form-data; name="f"; filename="x.php"\r\nContent-Type: text/plain\r\n\r\n<?php\r\n--b1--\r\n';
  const r = readMultipart(body, CT);
  assert.equal(r.error, null);
  assert.deepEqual(r.args, [['a', 'line1\r\nline2']]);
  assert.deepEqual(
    r.parts.map((p) => [p.name, p.filename, p.value, p.headers]),
    [
      ['a', null, 'line1\r\nline2', ['Content-Disposition: form-data; name="a"']],
      ['f', 'x.php', '<?php', ['Content-Disposition: form-data; name="f"; filename="x.php"', 'Content-Type: text/plain']],
    ],
  );
  assert.deepEqual(r.multipartFlags, {});
});

test('reads LF-only bodies and flags them (MULTIPART_LF_LINE, MULTIPART_STRICT_ERROR)', () => {
  const r = readMultipart('--b1\nContent-Disposition: form-data; name="a"\n\nv\n--b1--\n', CT);
  assert.deepEqual(r.args, [['a', 'v']]);
  assert.equal(r.multipartFlags?.MULTIPART_LF_LINE, '1');
  assert.equal(r.multipartFlags?.MULTIPART_STRICT_ERROR, '1');
});

test('a body without its final boundary is an error but keeps the parts read', () => {
  const r = readMultipart('--b1\r\nContent-Disposition: form-data; name="a"\r\n\r\nv', CT);
  assert.match(r.error ?? '', /final boundary missing/);
  assert.deepEqual(r.args, [['a', 'v']]);
});

test('data before the first and after the last boundary is flagged', () => {
  const r = readMultipart('junk\r\n--b1\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--b1--\r\nmore', CT);
  assert.equal(r.multipartFlags?.MULTIPART_DATA_BEFORE, '1');
  assert.equal(r.multipartFlags?.MULTIPART_DATA_AFTER, '1');
});

test('a part without Content-Disposition is an invalid part and a body error', () => {
  const r = readMultipart('--b1\r\nContent-Type: text/plain\r\n\r\nv\r\n--b1--\r\n', CT);
  assert.equal(r.multipartFlags?.MULTIPART_INVALID_PART, '1');
  assert.notEqual(r.error, null);
});

test('folded part headers are joined and flagged', () => {
  const r = readMultipart('--b1\r\nContent-Disposition: form-data;\r\n name="a"\r\n\r\nv\r\n--b1--\r\n', CT);
  assert.deepEqual(r.args, [['a', 'v']]);
  assert.equal(r.multipartFlags?.MULTIPART_HEADER_FOLDING, '1');
});

test('a Content-Type without a boundary is a body error', () => {
  assert.match(readMultipart('x', 'multipart/form-data').error ?? '', /boundary/);
});

const BOUNDARIES: readonly [string, string | null, boolean][] = [
  ['multipart/form-data; boundary=abc', 'abc', false],
  ['multipart/form-data; boundary="a b"', 'a b', true],
  ['multipart/form-data; charset=x; BOUNDARY=zz; x=1', 'zz', false],
  ['multipart/form-data', null, false],
];

for (const [ct, want, quoted] of BOUNDARIES) {
  test(`multipartBoundary reads ${JSON.stringify(ct)}`, () => {
    const b = multipartBoundary(ct);
    assert.equal(b?.boundary ?? null, want);
    if (b !== null) assert.equal(b.quoted, quoted);
  });
}

const DISPOSITIONS: readonly [string, string | null, string | null, boolean][] = [
  [' form-data; name="a"; filename="b.txt"', 'a', 'b.txt', false],
  [' form-data; name=a; filename=b', 'a', 'b', false],
  [' form-data; name="a\\"b"', 'a"b', null, false],
  [" form-data; name='a'", "'a'", null, true],
  [' form-data; name="a', 'a', null, true],
  [' form-data; name="a"; filename*=UTF-8\'\'x.php', 'a', "UTF-8''x.php", false],
];

for (const [v, name, filename, bad] of DISPOSITIONS) {
  test(`parseDisposition reads ${JSON.stringify(v)}`, () => {
    const d = parseDisposition(v);
    assert.deepEqual([d.name, d.filename, d.badQuoting, d.formData], [name, filename, bad, true]);
  });
}
