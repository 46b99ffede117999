import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../helpers/net.js';
import { request } from 'undici';
import { startUpstream } from '../helpers/upstream.js';
import { tracked } from '../helpers/children.js';

const BIN = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'portcullis.js');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-cli-'));
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const VALID = `version: 1
listeners:
  - port: 18999
upstreams:
  u:
    targets:
      - url: http://127.0.0.1:18998
routes:
  - id: r
    match:
      prefix: /
    upstream: u
`;

test('validate exits 0 on a valid config', () => {
  const r = cli(['validate', '-c', tmpFile('ok.yaml', VALID)]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /valid/);
});

test('validate exits 2 and names the file, line and key of an unknown key', () => {
  const text = VALID.replace('    upstream: u\n', '    upstream: u\n    timeout_ms: 5\n');
  const line = text.split('\n').findIndex((l) => l.includes('timeout_ms')) + 1;
  const f = tmpFile('bad.yaml', text);
  const r = cli(['validate', '-c', f]);
  assert.equal(r.code, 2);
  assert.ok(r.err.includes(`${f}:${line}:`), `message names ${f}:${line}: ${r.err}`);
  assert.match(r.err, /unknown key 'timeout_ms'/);
  assert.match(r.err, /routes\[0\]\.timeout_ms/);
});

test('validate reports a wrong type with its line, an unknown upstream, and a JSON config', () => {
  const wrongType = VALID.replace('  - port: 18999', '  - port: "eighty"');
  const r1 = cli(['validate', '-c', tmpFile('t.yaml', wrongType)]);
  assert.equal(r1.code, 2);
  assert.match(r1.err, /:3:\d+: must be integer \(listeners\[0\]\.port\)/);
  const badRef = VALID.replace('    upstream: u', '    upstream: nope');
  const r2 = cli(['validate', '-c', tmpFile('r.yaml', badRef)]);
  assert.equal(r2.code, 2);
  assert.match(r2.err, /:12:\d+: unknown upstream 'nope' \(routes\[0\]\.upstream\)/);
  const json = JSON.stringify(
    { version: 1, listeners: [{ port: 1 }], upstreams: { u: { targets: [{ url: 'http://127.0.0.1:1' }] } }, routes: [], extra: true },
    null,
    2,
  );
  const r3 = cli(['validate', '-c', tmpFile('c.json', json)]);
  assert.equal(r3.code, 2);
  assert.match(r3.err, /c\.json:\d+:\d+: unknown key 'extra'/);
});

test('validate refuses a request-id header name that is not an HTTP token', () => {
  const r = cli(['validate', '-c', tmpFile('h.yaml', `${VALID}request_id: { header: "x request id" }\n`)]);
  assert.equal(r.code, 2);
  assert.match(r.err, /h\.yaml:\d+:\d+: .*\(request_id\.header\)/);
});

test('secret references resolve from the environment and files; a missing one is a located error', () => {
  const withRef = VALID.replace('  - port: 18999', '  - port: 18999\nadmin:\n  token: ${env:PC_TEST_UNSET_VAR}');
  const r = cli(['validate', '-c', tmpFile('s.yaml', withRef)]);
  assert.equal(r.code, 2);
  assert.match(r.err, /environment variable PC_TEST_UNSET_VAR is not set \(admin\.token\)/);
});

test('--version, --help and usage errors', () => {
  assert.match(cli(['--version']).out, /^portcullis \d+\.\d+\.\d+/);
  assert.equal(cli(['--help']).code, 0);
  assert.match(cli(['start', '--help']).out, /Usage: portcullis start/);
  assert.match(cli(['validate', '--help']).out, /Usage: portcullis validate/);
  assert.equal(cli(['validate']).code, 2);
  assert.equal(cli(['frobnicate']).code, 2);
  assert.equal(cli(['start', '-c', '/nonexistent/portcullis.yaml']).code, 2);
});

test('SIGTERM during a slow request lets it finish, then the process exits 0', async () => {
  const slow = await startUpstream((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('finished');
    }, 800);
  });
  const port = await freePort();
  const admin = await freePort();
  const f = tmpFile(
    'term.yaml',
    `version: 1
listeners: [{ port: ${port} }]
admin: { port: ${admin} }
access_log: { enabled: false }
shutdown: { grace_ms: 5000 }
upstreams: { u: { targets: [{ url: "${slow.url}" }] } }
routes: [{ id: r, match: { prefix: / }, upstream: u, auth: none }]
`,
  );
  const child = tracked(spawn(process.execPath, [BIN, 'start', '-c', f], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    const deadline = Date.now() + 10000;
    while (!err.includes('"started"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const pending = request(`http://127.0.0.1:${port}/slow`);
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const res = await pending;
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'finished');
    assert.equal(await exited, 0);
    await assert.rejects(request(`http://127.0.0.1:${port}/after`), 'no longer accepting');
  } finally {
    child.kill('SIGKILL');
    await slow.close();
  }
});
