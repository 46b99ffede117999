import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configReference, errorReference } from '../../scripts/gen-config-docs.js';

const root = resolve(import.meta.dirname, '..', '..', '..');

test('docs/configuration.md is generated from the current schema (run npm run docs:config)', () => {
  assert.equal(readFileSync(join(root, 'docs', 'configuration.md'), 'utf8'), configReference());
});

test('docs/errors.md lists every error code of the catalogue (run npm run docs:config)', () => {
  assert.equal(readFileSync(join(root, 'docs', 'errors.md'), 'utf8'), errorReference());
});

test('every config field has a description', () => {
  const missing = configReference()
    .split('\n')
    .filter((l) => l.startsWith('| `') && /\| $/.test(`${l.trimEnd()} `))
    .filter((l) => l.trimEnd().endsWith('|  |') || l.trimEnd().endsWith('| |'));
  assert.deepEqual(missing, []);
});
