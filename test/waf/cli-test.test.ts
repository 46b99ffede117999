/** `portcullis waf test` through the real CLI binary. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'portcullis.js');
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'waf', 'test', ...args], { encoding: 'utf8', timeout: 30000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('waf test prints the matching rule, its target and transformations, and exits 1 for a blocked request', () => {
  const r = cli(['/search?q=%27%20OR%201%3D1--']);
  assert.equal(r.code, 1, r.err);
  assert.match(r.out, /sqli-100 +critical \(\+5\) +on query:q/);
  assert.match(r.out, /after: decodeAll > removeNulls > lowercase/);
  assert.match(r.out, /BLOCKED/);
});

test('waf test exits 0 and says no rule matched for a clean JSON body', () => {
  const r = cli(['-d', JSON.stringify({ name: "Siobhan O'Brien" }), '/users']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /no rule matched/);
});

test('waf test reads a raw HTTP request from a file and can print JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'waf-cli-'));
  const f = join(dir, 'req.http');
  writeFileSync(f, 'POST /import HTTP/1.1\r\nContent-Type: application/xml\r\n\r\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>');
  const r = cli(['--request', f, '--json']);
  assert.equal(r.code, 1, r.err);
  const j = JSON.parse(r.out) as { blocked: boolean; matches: { ruleId: string; target: string }[] };
  assert.equal(j.blocked, true);
  assert.ok(j.matches.some((m) => m.ruleId === 'xxe-100' && m.target === 'body'));
});

test('waf test exits 2 on a usage error', () => {
  assert.equal(cli([]).code, 2);
  assert.equal(cli(['--paranoia', '9', '/']).code, 2);
});

test('waf test --engine crs explains a request under the bundled CRS: rule ids, the variable, the transformed value, the verdict', () => {
  const r = cli(['--engine', 'crs', 'http://api.local/search?q=%27%20OR%201%3D1--']);
  assert.equal(r.code, 1, r.err);
  assert.match(r.out, /942100 +SQL Injection Attack Detected via libinjection/);
  assert.match(r.out, /on ARGS:q: "' OR 1=1--"/);
  assert.match(r.out, /BLOCKED by 949110/);
  assert.doesNotMatch(r.out, /920280/, 'the URL host is the Host header');
  assert.doesNotMatch(r.out, /sqli-100/, 'the built-in rules do not run with --engine crs');
});

test('waf test --engine both runs both rule sets; a clean request passes both', () => {
  const r = cli(['--engine', 'both', '-H', 'Host: api.local', '-H', 'User-Agent: curl/8', '-H', 'Accept: */*', '/search?q=widgets']);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /OWASP CRS[^\n]*\n {2}no rule matched/);
  assert.match(r.out, /built-in rules:\nno rule matched/);
});
