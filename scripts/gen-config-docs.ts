/**
 * Generates docs/configuration.md from the composed config schema (every field's description,
 * type and default) and docs/errors.md from the error catalogue.
 * Run: npm run docs:config. A test fails when the committed docs are stale.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { composeSchema } from '../src/config/schema.js';
import { STAGES } from '../src/stages/index.js';
import { ERRORS } from '../src/core/errors.js';
import type { JsonSchema } from '../src/core/json-schema.js';

type S = JsonSchema & {
  type?: string | string[];
  properties?: Record<string, S>;
  items?: S;
  additionalProperties?: S | boolean;
  enum?: unknown[];
  const?: unknown;
  oneOf?: S[];
  anyOf?: S[];
  default?: unknown;
  required?: string[];
};

function typeOf(s: S): string {
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' or ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  const alts = s.oneOf ?? s.anyOf;
  if (alts && !s.type) return alts.map(typeOf).join(' or ');
  if (Array.isArray(s.type)) return s.type.join(' or ');
  if (s.type === 'array' && s.items) return `array of ${typeOf(s.items)}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties) return 'map';
  return s.type ?? 'any';
}

function cell(t: string): string {
  return t.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function walk(s: S, path: string, out: string[], depth: number): void {
  if (depth > 8) return;
  const props = s.properties;
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      const p = path === '' ? k : `${path}.${k}`;
      const req = s.required?.includes(k) ? ' (required)' : '';
      const dflt =
        v.default !== undefined && typeof v.default !== 'object'
          ? `\`${JSON.stringify(v.default)}\``
          : v.default !== undefined && JSON.stringify(v.default).length < 60
            ? `\`${JSON.stringify(v.default)}\``
            : '';
      out.push(`| \`${p}\`${req} | ${cell(typeOf(v))} | ${dflt} | ${cell(v.description ?? '')} |`);
      walk(v, p, out, depth + 1);
    }
  }
  if (s.items) walk(s.items, `${path}[]`, out, depth + 1);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${path}.<name>`, out, depth + 1);
  for (const alt of [...(s.oneOf ?? []), ...(s.anyOf ?? [])]) if (alt.properties) walk(alt, path, out, depth + 1);
}

export function configReference(): string {
  const schema = composeSchema(STAGES) as S;
  const out = [
    '# Configuration reference',
    '',
    'Generated from the config schema by `npm run docs:config`; do not edit by hand.',
    'Every key is checked: unknown keys and wrong types are errors reported with file, line and key path.',
    'Strings may reference secrets: `${env:NAME}` (environment variable) or `${file:PATH}` (file contents, relative to the config file).',
    '',
    '| key | type | default | description |',
    '|---|---|---|---|',
  ];
  walk(schema, '', out, 0);
  return `${out.join('\n')}\n`;
}

export function errorReference(): string {
  const out = [
    '# Error codes',
    '',
    'Generated from `src/core/errors.ts` by `npm run docs:config`. Every local reply is an RFC 9457',
    '`application/problem+json` body with `type` (`urn:portcullis:problem:<code>`), `title`, `status`,',
    '`code` and `request_id`; validation errors add `errors` (JSON pointer and reason). Codes are API:',
    'they are never renamed.',
    '',
    '| code | status | title |',
    '|---|---:|---|',
  ];
  for (const [code, spec] of Object.entries(ERRORS)) out.push(`| \`${code}\` | ${spec.status} | ${spec.title} |`);
  return `${out.join('\n')}\n`;
}

if (process.argv[1] && resolve(process.argv[1]).endsWith('gen-config-docs.js')) {
  const root = resolve(import.meta.dirname, '..', '..');
  writeFileSync(join(root, 'docs', 'configuration.md'), configReference());
  writeFileSync(join(root, 'docs', 'errors.md'), errorReference());
  console.log('wrote docs/configuration.md and docs/errors.md');
}
