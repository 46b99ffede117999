// The shape of the code, checked: no import cycles anywhere in src/, and the kernel (src/core/)
// imports nothing outside itself but Node's own modules (docs/architecture.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import madge from 'madge';

const root = resolve(import.meta.dirname, '..', '..', '..');

test('src/ has no import cycle (madge)', async () => {
  const graph = await madge(join(root, 'src'), { fileExtensions: ['ts'], tsConfig: join(root, 'tsconfig.json') });
  const files = Object.keys(graph.obj());
  assert.ok(files.length > 100, `madge read ${files.length} files`);
  assert.ok(files.includes('core/pipeline.ts') && graph.obj()['gateway.ts']!.includes('core/pipeline.ts'), 'madge resolved the .js specifiers to .ts files');
  assert.deepEqual(graph.circular(), []);
});

test('src/core/ imports only from src/core/ and node: modules (tests excepted)', () => {
  const dir = join(root, 'src', 'core');
  const outside: string[] = [];
  let imports = 0;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
    const text = readFileSync(join(dir, name), 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      imports++;
      if (spec.startsWith('node:')) continue;
      if (/^\.\/[\w.-]+\.js$/.test(spec)) continue;
      outside.push(`${name}: ${spec}`);
    }
  }
  assert.ok(imports > 30, `read ${imports} imports`);
  assert.deepEqual(outside, []);
});
