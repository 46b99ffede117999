/**
 * The integration suites of the security stages (authentication, validation, limits, WAF, abuse)
 * run again over HTTP/2: TLS with ALPN h2 (http2-suites-tls-*.test.ts), and cleartext h2c with prior
 * knowledge (http2-suites-h2c-*.test.ts): four files, so that each has the runner's time per file. Each
 * runs in a child `node --test` with PC_TEST_PROTOCOL set (test/helpers/protocol.ts rewrites the
 * gateways' listeners and speaks node:http2 to them); the same assertions must hold as over HTTP/1.1.
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The suites, relative to dist/test (those that start gateways through the test helpers). */
export const STAGE_SUITES: readonly string[] = [
  'auth/apikey-gateway.test.js',
  'auth/combine.test.js',
  'auth/dev-token.test.js',
  'auth/jwt-hostile.test.js',
  'auth/mtls-gateway.test.js',
  'auth/mtls-rdn.test.js',
  'auth/oidc.test.js',
  'auth/principal-namespace.test.js',
  'auth/replay.test.js',
  'auth/replay-restart.test.js',
  'auth/signature-gateway.test.js',
  'auth/tenants.test.js',
  'openapi/gateway.test.js',
  'waf/stage.test.js',
  'rate-limit/gateway.test.js',
  'abuse/gateway.test.js',
];
function runSuites(protocol: 'h2' | 'h2c', suites: readonly string[]): Promise<{ code: number | null; out: string }> {
  const files = suites.map((f) => fileURLToPath(new URL(`../${f}`, import.meta.url)));
  // a run of its own, not a subprocess reporting to this one (node --test marks those with NODE_TEST_CONTEXT)
  const env: NodeJS.ProcessEnv = { ...process.env, PC_TEST_PROTOCOL: protocol };
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve) => {
    // one file at a time: this runs beside the rest of the suite on a shared machine
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=tap', ...files], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = (d: Buffer): void => {
      out = (out + d.toString('utf8')).slice(-200_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/** Top-level tests and suites of each half when this was written, less a margin for merged ones. */
const MIN_PASSED = [90, 32] as const; // 94 and 34 on 2026-12-07

function summary(out: string, key: string): number {
  const m = new RegExp(`^# ${key} (\\d+)$`, 'm').exec(out);
  return m === null ? -1 : Number(m[1]);
}

/**
 * The test of one protocol and one half of the suites (`half` 0: authentication; 1: validation,
 * WAF, limits and abuse): every suite passes, and they did run. Halves, so that each file stays
 * well inside the runner's time per file under coverage on a shared machine.
 */
export function suitesOver(protocol: 'h2' | 'h2c', half: 0 | 1): void {
  const suites = STAGE_SUITES.filter((f) => f.startsWith('auth/') === (half === 0));
  const what = half === 0 ? 'authentication' : 'validation, WAF, rate-limit and abuse';
  test(`the ${what} suites pass over ${protocol === 'h2' ? 'HTTP/2 with TLS (ALPN h2)' : 'cleartext h2c'}`, {
    timeout: 600_000,
  }, async () => {
    const { code, out } = await runSuites(protocol, suites);
    const failed = out
      .split('\n')
      .filter((l) => /^\s*not ok /.test(l))
      .join('\n');
    assert.equal(code, 0, `suites over ${protocol} failed:\n${failed}\n${out.slice(-4000)}`);
    assert.equal(summary(out, 'fail'), 0);
    assert.equal(summary(out, 'cancelled'), 0);
    // the suites ran (a wrong path would run nothing and pass): MIN_PASSED top-level tests and suites when written
    assert.ok(summary(out, 'pass') >= MIN_PASSED[half], `only ${summary(out, 'pass')} tests passed`);
  });
}
