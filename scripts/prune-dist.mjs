// Deletes compiled files in dist/ whose TypeScript source is gone (a moved or deleted test would
// otherwise still run from its old place). tsc never removes outputs itself.
import { readdirSync, rmSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
let removed = 0;

function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      walk(p);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
      continue;
    }
    const m = /^(.*)\.(?:js|js\.map|d\.ts)$/.exec(e.name);
    if (m === null) continue;
    const source = join(ROOT, relative(DIST, dir), `${m[1]}.ts`);
    if (!existsSync(source)) {
      rmSync(p);
      removed++;
    }
  }
}

if (existsSync(DIST)) walk(DIST);
if (removed > 0) console.log(`prune-dist: removed ${removed} compiled file(s) without a source`);
