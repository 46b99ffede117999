// What `npm pack` ships: the compiled gateway, its command, examples and docs; no tests,
// benchmarks, fixtures, source maps or the quickstart's audit log (examples/quickstart/.data/).
// And `main`/`exports` name files that exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
};

test('npm pack ships no tests, benchmarks, fixtures or source maps', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  for (const needed of [pkg.main, pkg.types, ...Object.values(pkg.bin), 'dist/src/cli/main.js', 'README.md', 'examples/quickstart/portcullis.yaml']) {
    assert.ok(files.includes(needed.replace(/^\.\//, '')), `the package ships ${needed}`);
  }
  const unwanted = files.filter(
    (f) => /\.test\.|\.map$|(^|\/)(test|tests|bench|testdata|fixtures|scripts|\.data)\//.test(f) || /\.ts$/.test(f.replace(/\.d\.ts$/, '')),
  );
  assert.deepEqual(unwanted, []);
});

test('main, types and exports name built files, and the package imports by its name', async () => {
  const targets = [pkg.main, pkg.types, ...Object.values(pkg.exports).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v)))];
  for (const t of targets) assert.ok(existsSync(join(root, t)), `${t} exists`);
  const lib = (await import('portcullis')) as Record<string, unknown>;
  assert.equal(typeof lib['Gateway'], 'function');
  assert.equal(typeof (lib['Gateway'] as { start?: unknown }).start, 'function');
  assert.ok(Array.isArray(lib['STAGES']) && (lib['STAGES'] as unknown[]).length > 5);
  assert.equal(typeof lib['loadConfigFile'], 'function');
});
