/** `portcullis keys create|hash`: the printed key verifies against the printed entry. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse } from 'yaml';
import { keysCommand, type KeysIo } from '../../src/cli/keys.js';
import { buildDirectory } from '../../src/stages/auth/consumers.js';
import { apiKeySettings, decideApiKey } from '../../src/stages/auth/verifiers/api-key.js';

const SECRET = 'cli-secret-0123456789-0123456789-0123456789';

function io(env: Record<string, string> = {}, stdin = ''): KeysIo & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    env,
    stdin: () => stdin,
    out: (s: string) => void (o.stdout += s),
    err: (s: string) => void (o.stderr += s),
  };
  return o;
}

/** The key line and the YAML entry from the output. */
function parseOutput(out: string): { key: string; entry: { id: string; hash: string; expires?: string } } {
  const key = /^ {2}(pc_\S+)$/m.exec(out)?.[1];
  assert.ok(key, 'output shows the key');
  const yamlText = out
    .split('\n')
    .filter((l) => /^ {8}(- id:| {2}hash:| {2}expires:)/.test(l))
    .join('\n');
  const entry = (parse(yamlText) as { id: string; hash: string; expires?: string }[])[0];
  assert.ok(entry);
  return { key, entry };
}

describe('portcullis keys', () => {
  it('creates a key whose printed entry authenticates it, with the secret from the default variable', async () => {
    const o = io({ PORTCULLIS_APIKEY_SECRET: SECRET });
    assert.equal(await keysCommand(['create', '--consumer', 'billing', '--id', 'k2026'], o), 0);
    const { key, entry } = parseOutput(o.stdout);
    assert.match(key, /^pc_k2026_/);
    assert.equal(entry.id, 'k2026');
    assert.ok(!o.stdout.includes(SECRET), 'the secret is never printed');
    const dir = buildDirectory([{ id: 'billing', credentials: { api_keys: [{ ...entry, disabled: false }] } }]);
    const r = decideApiKey({ header: key, query: [] }, dir, apiKeySettings({ secret: SECRET }), Date.now());
    assert.equal(r.kind === 'ok' && r.identity.consumer, 'billing');
  });

  it('uses the named variable and writes the expiry into the entry', async () => {
    const o = io({ MY_PEPPER: SECRET });
    assert.equal(await keysCommand(['create', '--consumer', 'billing', '--secret-env', 'MY_PEPPER', '--expires', '2027-01-01T00:00:00Z'], o), 0);
    const { key, entry } = parseOutput(o.stdout);
    assert.equal(entry.expires, '2027-01-01T00:00:00Z');
    const dir = buildDirectory([{ id: 'billing', credentials: { api_keys: [{ ...entry, disabled: false }] } }]);
    const after = decideApiKey({ header: key, query: [] }, dir, apiKeySettings({ secret: SECRET }), Date.parse('2027-01-02T00:00:00Z'));
    assert.equal(after.kind === 'fail' && after.deny.code, 'PC_ERR_AUTH_APIKEY_EXPIRED');
  });

  it('prints a different key each time', async () => {
    const a = io({ PORTCULLIS_APIKEY_SECRET: SECRET });
    const b = io({ PORTCULLIS_APIKEY_SECRET: SECRET });
    await keysCommand(['create', '--consumer', 'c', '--id', 'same'], a);
    await keysCommand(['create', '--consumer', 'c', '--id', 'same'], b);
    assert.notEqual(parseOutput(a.stdout).key, parseOutput(b.stdout).key);
  });

  const usage: [string, string[], Record<string, string>, RegExp][] = [
    ['without the secret variable', ['create', '--consumer', 'c'], {}, /PORTCULLIS_APIKEY_SECRET is not set/],
    ['with a short secret', ['create', '--consumer', 'c'], { PORTCULLIS_APIKEY_SECRET: 'short' }, /at least 32/],
    ['without --consumer', ['create'], { PORTCULLIS_APIKEY_SECRET: SECRET }, /--consumer ID is required/],
    ['with a bad consumer id', ['create', '--consumer', 'a b'], { PORTCULLIS_APIKEY_SECRET: SECRET }, /--consumer ID is required/],
    ['with a bad expiry', ['create', '--consumer', 'c', '--expires', 'tomorrow'], { PORTCULLIS_APIKEY_SECRET: SECRET }, /RFC 3339/],
    ['with an unknown option', ['create', '--consumer', 'c', '--nope'], { PORTCULLIS_APIKEY_SECRET: SECRET }, /Unknown option/],
    ['with an unknown subcommand', ['delete'], {}, /unknown keys command/],
  ];
  for (const [name, argv, env, message] of usage) {
    it(`exits 2 ${name} and prints no key`, async () => {
      const o = io(env);
      assert.equal(await keysCommand(argv, o), 2);
      assert.match(o.stderr, message);
      assert.doesNotMatch(o.stdout, /pc_/);
    });
  }

  it('hashes a key read from stdin to the same entry', async () => {
    const c = io({ PORTCULLIS_APIKEY_SECRET: SECRET });
    await keysCommand(['create', '--consumer', 'c'], c);
    const { key, entry } = parseOutput(c.stdout);
    const h = io({ PORTCULLIS_APIKEY_SECRET: SECRET }, `${key}\n`);
    assert.equal(await keysCommand(['hash'], h), 0);
    assert.deepEqual(parse(h.stdout), [{ id: entry.id, hash: entry.hash }]);
  });

  it('runs through the portcullis binary', async () => {
    const bin = join(fileURLToPath(new URL('../../../', import.meta.url)), 'bin', 'portcullis.js');
    const { stdout, code } = await new Promise<{ stdout: string; code: number }>((resolve) => {
      execFile(
        process.execPath,
        [bin, 'keys', 'create', '--consumer', 'billing'],
        { env: { ...process.env, PORTCULLIS_APIKEY_SECRET: SECRET } },
        (err, stdout) => resolve({ stdout, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
      );
    });
    assert.equal(code, 0);
    const { key, entry } = parseOutput(stdout);
    const dir = buildDirectory([{ id: 'billing', credentials: { api_keys: [{ ...entry, disabled: false }] } }]);
    assert.equal(decideApiKey({ header: key, query: [] }, dir, apiKeySettings({ secret: SECRET }), Date.now()).kind, 'ok');
  });
});
