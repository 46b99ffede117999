/**
 * The go-ftw runner end to end: a real gateway (built-in WAF engine) on loopback in front of the
 * runner's albedo-like upstream, a small go-ftw fixture written for the built-in rules, judged
 * as expected; then the CLI on the same fixture (report, exit code).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEchoUpstream, type EchoUpstream } from '../../src/waf/ftw/echo-upstream.js';
import { startGateway, type HostedGateway } from '../../src/waf/ftw/gateway-host.js';
import { parseOverrides } from '../../src/waf/ftw/overrides.js';
import { loadSuite, runSuite, type RunReport, type TestResult } from '../../src/waf/ftw/runner.js';

const BIN = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'portcullis.js');
const dir = mkdtempSync(join(tmpdir(), 'ftw-'));
const CONFIG = join(dir, 'portcullis.yaml');
const TESTS = join(dir, 'tests.yaml');
const OVERRIDES = join(dir, 'overrides.yaml');

// the listener and upstream are replaced by the runner; abuse bans off: every test comes from 127.0.0.1
writeFileSync(
  CONFIG,
  `version: 1
listeners:
  - address: 0.0.0.0
    port: 8080
access_log:
  path: ${join(dir, 'must-not-be-written.log')}
abuse:
  enabled: false
upstreams:
  app:
    targets:
      - url: http://192.0.2.1:9
routes:
  - id: all
    match: { prefix: / }
    upstream: app
    auth: none
`,
);

/** A request as base64, its Content-Length computed. */
const raw = (line: string, headers: string[], body: string): string =>
  Buffer.from(`${line}\r\n${[...headers, `Content-Length: ${Buffer.byteLength(body)}`].join('\r\n')}\r\n\r\n${body}`).toString('base64');
const UA = '            User-Agent: "OWASP CRS test agent"\n            Host: "localhost"\n';
writeFileSync(
  TESTS,
  `meta: { author: portcullis, description: "go-ftw fixture for the built-in rules" }
rule_id: 100
tests:
  - test_id: 1
    desc: SQL injection in the query matches sqli-100 and is blocked
    stages:
      - input:
          uri: "/get?id=1'%20OR%201=1--"
          headers:
${UA}        output:
          status: 403
          log:
            expect_ids: [sqli-100]
  - test_id: 2
    desc: a benign request matches no rule
    stages:
      - input:
          uri: "/get?q=hello"
          headers:
${UA}        output:
          status: [200]
          log:
            no_expect_ids: [sqli-100]
            no_match_regex: '\\[id "'
  - test_id: 3
    desc: an encoded_request goes out byte for byte (SQL injection in a form body)
    stages:
      - input:
          encoded_request: "${raw('POST /post HTTP/1.1', ['Host: localhost', 'Content-Type: application/x-www-form-urlencoded', 'Connection: close'], "id=1' OR '1'='1'--")}"
        output:
          log:
            expect_ids: [sqli-100]
            match_regex: 'found within'
  - test_id: 4
    desc: expects 200 for an attack (fails; the overrides file fixes the expectation)
    stages:
      - input:
          uri: "/get?id=1'%20OR%201=1--"
          headers:
${UA}        output:
          status: 200
  - test_id: 5
    desc: a known failure, marked in the overrides file
    stages:
      - input:
          uri: "/get?q=hello"
          headers:
${UA}        output:
          log:
            expect_ids: [sqli-100]
  - test_id: 6
    desc: the upstream answers what /reflect asks, and cookies are kept for the next stage
    stages:
      - input:
          method: POST
          uri: /reflect
          save_cookie: true
          headers:
${UA}            Content-Type: application/json
          data: '{"status": 201, "headers": {"Set-Cookie": "session=abc123; Path=/"}, "body": "reflected"}'
        output:
          status: 201
          response_contains: reflected
      - input:
          method: POST
          uri: /reflect
          headers:
${UA}            Content-Type: application/json
          data: '{"status": 202}'
        output:
          status: 202
  - test_id: 7
    desc: a request that never completes is an error (expect_error)
    stages:
      - input:
          encoded_request: "${Buffer.from('POST /post HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nx').toString('base64')}"
        output:
          expect_error: true
  - test_id: 9
    desc: a request the HTTP parser refuses (bare LF line ends) still has its WAF ids read from its record
    stages:
      - input:
          encoded_request: "${Buffer.from("GET /get?id=1'%20OR%201=1-- HTTP/1.1\nHost: localhost\nConnection: close\n\n").toString('base64')}"
        output:
          status: [400, 403]
          log:
            expect_ids: [sqli-100]
  - test_id: 8
    desc: a test that fails with no override
    stages:
      - input:
          uri: "/get?q=hello"
          headers:
${UA}        output:
          status: 418
`,
);

writeFileSync(
  OVERRIDES,
  `version: "v0.0.0"
meta: { engine: portcullis-builtin, platform: node }
test_overrides:
  - rule_id: 100
    test_ids: [4]
    reason: the built-in engine blocks this request
    output:
      status: 403
      log:
        expect_ids: [sqli-100]
  - rule_id: 100
    test_ids: [5]
    reason: a benign request matches no rule (known failure, for the test)
    expect_failure: true
`,
);

let upstream: EchoUpstream;
let gateway: HostedGateway;
let report: RunReport;
const results = new Map<string, TestResult>();

before(async () => {
  upstream = await startEchoUpstream();
  gateway = await startGateway(CONFIG, `http://127.0.0.1:${upstream.port}`);
  report = await runSuite({ gateway, upstream }, loadSuite(TESTS), {
    overrides: parseOverrides(readFileSync(OVERRIDES, 'utf8'), OVERRIDES),
    include: null,
    exclude: null,
    timeoutMs: 1500,
    onResult: (r) => results.set(r.test, r),
  });
});

after(async () => {
  await gateway?.stop();
  await upstream?.close();
});

const outcome = (name: string): string => {
  const r = results.get(name);
  return `${r?.outcome} ${(r?.reasons ?? []).join('; ')}`.trim();
};

test('a SQL injection is judged on the built-in rule id read from the access record and on its 403', () => {
  assert.equal(outcome('100-1'), 'passed');
});

test('a benign request passes no_expect_ids and a log regex that must not match', () => {
  assert.equal(outcome('100-2'), 'passed');
});

test('an encoded_request is sent as it is and its matches appear in the ModSecurity-style log text', () => {
  assert.equal(outcome('100-3'), 'passed');
});

test('an override replaces the expected output and turns the failure into an overridden pass', () => {
  assert.equal(outcome('100-4'), 'overridden');
  assert.equal(results.get('100-4')?.reason, 'the built-in engine blocks this request');
});

test('a known failure counts as overridden, with its reason, not as failed', () => {
  assert.equal(outcome('100-5').split(' ')[0], 'overridden');
  assert.deepEqual(results.get('100-5')?.got?.ids, []);
});

test('the upstream reflects status, headers and body, and a multi-stage test passes', () => {
  assert.equal(outcome('100-6'), 'passed');
});

test('a request the gateway never answers within the time limit passes expect_error', () => {
  assert.equal(outcome('100-7'), 'passed');
});

test('a request refused by the HTTP parser is correlated with its record and judged on its ids', () => {
  assert.equal(outcome('100-9'), 'passed');
});

test('a failure without override is reported with what was expected and what came back', () => {
  const r = results.get('100-8');
  assert.equal(r?.outcome, 'failed');
  assert.deepEqual(r?.expected?.status, [418]);
  assert.equal(r?.got?.status, 200);
  assert.match(r?.reasons?.[0] ?? '', /status 200, expected 418/);
  assert.deepEqual(report.summary, { ...report.summary, passed: 6, failed: 1, overridden: 2, total: 9, parse_errors: 0 });
  assert.equal(report.files[0]?.total, 9);
});

test('the CLI writes the JSON report and summary and exits 1 when a test failed, 0 when it is excluded', () => {
  const out = join(dir, 'out');
  const args = [BIN, 'waf', 'ftw', '-c', CONFIG, '-t', TESTS, '--overrides', OVERRIDES, '--timeout-ms', '1500', '--out', out];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /passed 6 {2}failed 1 {2}overridden 2 {2}total 9/);
  const json = JSON.parse(readFileSync(join(out, 'ftw-report.json'), 'utf8')) as RunReport;
  assert.deepEqual(
    json.failures.map((f) => f.test),
    ['100-8'],
  );
  assert.match(readFileSync(join(out, 'ftw-summary.txt'), 'utf8'), /FAIL tests\.yaml/);
  const ok = spawnSync(process.execPath, [...args, '--exclude', '^100-8$'], { encoding: 'utf8', timeout: 60000 });
  assert.equal(ok.status, 0, ok.stderr);
  // the runner reads records in-process: the config's access-log file stays unwritten
  assert.equal(existsSync(join(dir, 'must-not-be-written.log')), false);
});
