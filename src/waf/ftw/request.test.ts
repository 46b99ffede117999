/** Vectors for the bytes go-ftw sends (ftwhttp/request.go), and for the test-file parser's defaults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRequest, encodeFormData, goQueryEscape } from './request.js';
import { parseFtwFile } from './parse.js';
import { expandTemplate } from './template.js';
import type { FtwInput } from './types.js';

const input = (o: Partial<FtwInput>): FtwInput => ({
  method: 'GET',
  uri: '/',
  version: 'HTTP/1.1',
  headers: [],
  data: null,
  encodedRequest: null,
  autocompleteHeaders: true,
  saveCookie: false,
  response: null,
  ...o,
});
const text = (b: Buffer): string => b.toString('latin1');

test("goQueryEscape escapes as Go's url.QueryEscape: unreserved kept, space as '+', other bytes %XX", () => {
  for (const [raw, want] of [
    ['a-b_c.d~e', 'a-b_c.d~e'],
    ['1 OR 1=1', '1+OR+1%3D1'],
    ["'/*;?@", '%27%2F%2A%3B%3F%40'],
    ['é', '%C3%A9'],
  ] as const)
    assert.equal(goQueryEscape(Buffer.from(raw, 'utf8')), want, raw);
});

test('form data without escapes is re-encoded name by name; data with % or + is sent as written', () => {
  const form = [{ name: 'Content-Type', value: 'application/x-www-form-urlencoded' }];
  for (const [raw, want] of [
    ["var=1' or '1'='1&b=c d", 'var=1%27+or+%271%27%3D%271&b=c+d'],
    ['a&&b=1&', 'a&&b=1'],
    ['var=%27already', 'var=%27already'],
    ['var=a+b', 'var=a+b'],
    ['noequals<x>', 'noequals%3Cx%3E'],
  ] as const)
    assert.equal(text(encodeFormData(form, Buffer.from(raw))), want, raw);
  // another content type: untouched
  assert.equal(text(encodeFormData([{ name: 'content-type', value: 'application/json' }], Buffer.from('{"a":" b"}'))), '{"a":" b"}');
});

test('autocomplete adds a form Content-Type, Connection: close and Content-Length after the headers as written', () => {
  const b = buildRequest(
    input({
      method: 'POST',
      uri: '/post',
      headers: [
        { name: 'User-Agent', value: 'OWASP CRS test agent' },
        { name: 'Host', value: 'localhost' },
      ],
      data: Buffer.from('a=b c'),
    }),
  );
  assert.equal(
    text(b),
    'POST /post HTTP/1.1\r\nUser-Agent: OWASP CRS test agent\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: 5\r\n\r\na=b+c',
  );
});

test('a POST without data gets Content-Length: 0, a GET none, and given headers are not duplicated', () => {
  assert.match(text(buildRequest(input({ method: 'POST' }))), /\r\nContent-Length: 0\r\n\r\n$/);
  assert.doesNotMatch(text(buildRequest(input({}))), /Content-Length/);
  const b = text(buildRequest(input({ headers: [{ name: 'connection', value: 'keep-alive' }] })));
  assert.equal(b, 'GET / HTTP/1.1\r\nconnection: keep-alive\r\n\r\n');
});

test('without autocomplete nothing is added, and a multipart body still gets CRLF line ends', () => {
  const b = buildRequest(
    input({
      method: 'POST',
      headers: [{ name: 'Content-Type', value: 'multipart/form-data; boundary=x' }],
      data: Buffer.from('--x\nContent-Disposition: form-data; name="a"\n\n1\n--x--\n'),
      autocompleteHeaders: false,
    }),
  );
  assert.equal(
    text(b),
    'POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=x\r\n\r\n--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n',
  );
});

test('an encoded_request is sent byte for byte, malformed or not', () => {
  const raw = Buffer.from('GET /\x00 HTTP/1.1\nHost:\n\n', 'latin1');
  assert.deepEqual(buildRequest(input({ encodedRequest: raw, headers: [{ name: 'X', value: 'y' }] })), raw);
});

test('saved cookies are sent when the input has no Cookie header', () => {
  assert.match(text(buildRequest(input({}), 'a=1; b=2')), /\r\nCookie: a=1; b=2\r\n/);
  assert.doesNotMatch(text(buildRequest(input({ headers: [{ name: 'cookie', value: 'c=3' }] }), 'a=1')), /a=1/);
});

test('templates expand repeat in both forms and refuse other actions', () => {
  assert.equal(expandTemplate('x{{ "ab" | repeat 3 }}y'), 'xabababy');
  assert.equal(expandTemplate('{{ repeat 2 "z" }}'), 'zz');
  assert.equal(expandTemplate('a  {{- "b" -}}  c'), 'abc');
  assert.equal(expandTemplate('no template'), 'no template');
  assert.throws(() => expandTemplate('{{ env "HOME" }}'), /unsupported action/);
  assert.throws(() => expandTemplate('{{ "a" | repeat 99999999 }}'), /more than/);
});

const FILE = `
meta: { author: test }
rule_id: 942100
tests:
  - test_id: 1
    desc: defaults
    stages:
      - input:
          headers:
            Host: localhost
            User-Agent: ua
            host: second
        output:
          log:
            expect_ids: [942100]
  - test_id: 2
    stages:
      - stage:
          input:
            method: POST
            stop_magic: true
            data: ["a=1", "b=2"]
          output:
            status: [200, 403]
            log_contains: 'id "942100"'
  - test_id: 3
    stages:
      - input:
          data: "x"
          encoded_request: "R0VUIC8gSFRUUC8xLjENCg0K"
        output: {}
`;

test('the parser applies go-ftw defaults, keeps header order and duplicates, and reads legacy stages', () => {
  const { file, errors } = parseFtwFile(FILE, 'f.yaml');
  assert.equal(file.ruleId, '942100');
  const [t1, t2] = file.tests;
  const i1 = t1?.stages[0]?.input;
  assert.equal(i1?.method, 'GET');
  assert.equal(i1?.uri, '/');
  assert.equal(i1?.version, 'HTTP/1.1');
  assert.equal(i1?.autocompleteHeaders, true);
  assert.deepEqual(
    i1?.headers.map((h) => h.name),
    ['Host', 'User-Agent', 'host'],
  );
  assert.deepEqual(t1?.stages[0]?.output.expectIds, ['942100']);
  const s2 = t2?.stages[0];
  assert.equal(s2?.input.autocompleteHeaders, false);
  assert.equal(s2?.input.data?.toString(), 'a=1\r\nb=2');
  assert.deepEqual(s2?.output.status, [200, 403]);
  assert.equal(s2?.output.matchRegex, 'id "942100"');
  // test 3 sets data and encoded_request together: reported, the others kept
  assert.equal(file.tests.length, 2);
  assert.equal(errors.length, 1);
  assert.match(errors[0] ?? '', /tests\[2\].*must not be set together/);
});

test('a file of comments only has no tests, and a rule id falls back on the file name', () => {
  assert.equal(parseFtwFile('# nothing\n', '920539.yaml').file.tests.length, 0);
  const { file } = parseFtwFile('tests:\n  - stages:\n      - input: {}\n        output: {}\n', 'dir/913100.yaml');
  assert.equal(file.ruleId, '913100');
  assert.equal(file.tests[0]?.testId, 1);
  assert.throws(() => parseFtwFile('rule_id: 1\ntests: 3\n', 'x.yaml'), /'tests' must be a list/);
});
