import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { AJV_CODE, isHttpUrl } from './ajv-options.js';
import { LineCounter, isCollection, parseDocument, visit } from 'yaml';
import { ConfigError, ConfigErrors, Locator, keyPathString, pointerToPath, type PathSeg } from './errors.js';
import { composeSchema } from './schema.js';
import type { CanonicalConfig } from '../core/config.js';
import type { StageModule } from '../core/stage.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export interface LoadedConfig {
  readonly file: string;
  readonly baseDir: string;
  readonly config: CanonicalConfig;
  /** sha256 of the file bytes, for the audit log */
  readonly hash: string;
}

const REF = /\$\{(env|file):([^}]+)\}/g;

/** Replaces `${env:NAME}` and `${file:PATH}` in every string of the tree; errors name the key. */
function substitute(value: unknown, path: PathSeg[], ctx: { baseDir: string; fail: (msg: string, path: PathSeg[]) => never }): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(REF, (_m, kind: string, arg: string) => {
      if (kind === 'env') {
        const v = process.env[arg];
        if (v === undefined) ctx.fail(`environment variable ${arg} is not set`, path);
        return v;
      }
      try {
        return readFileSync(resolve(ctx.baseDir, arg), 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        return ctx.fail(`cannot read secret file ${arg}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, path);
      }
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, [...path, i], ctx));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, [...path, k], ctx);
    return out;
  }
  return value;
}

function describeAjvError(e: ErrorObject): { message: string; key?: string } {
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      return { message: `unknown key '${key}'`, key };
    }
    case 'required':
      return { message: `missing required key '${String((e.params as { missingProperty: string }).missingProperty)}'` };
    case 'type':
      return { message: `must be ${String((e.params as { type: string }).type)}` };
    case 'enum':
      return { message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { message: `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}` };
    case 'format':
      if ((e.params as { format: string }).format === 'http-url')
        return { message: 'must be an absolute http or https URL (with a host, without user:password)' };
      return { message: e.message ?? e.keyword };
    default:
      return { message: e.message ?? e.keyword };
  }
}

const validators = new WeakMap<readonly StageModule[], ReturnType<Ajv2020['compile']>>();

function validatorFor(modules: readonly StageModule[]): ReturnType<Ajv2020['compile']> {
  let v = validators.get(modules);
  if (!v) {
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: false, allowUnionTypes: true, code: AJV_CODE });
    addFormats(ajv);
    ajv.addFormat('http-url', isHttpUrl);
    v = ajv.compile(composeSchema(modules));
    validators.set(modules, v);
  }
  return v;
}

/**
 * Parses YAML or JSON text into the canonical tree: substitutes secret references,
 * applies schema defaults, and reports every problem with file, line and key path.
 */
export function parseConfig(text: string, file: string, modules: readonly StageModule[]): LoadedConfig {
  const baseDir = dirname(resolve(file));
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, merge: false });
  if (doc.errors.length > 0) {
    throw new ConfigErrors(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return new ConfigError(`syntax error: ${e.message.split('\n')[0]}`, { file, line: pos.line, column: pos.col });
      }),
    );
  }
  // a mapping or list used as a key (`? {a: 1}`) would be stringified by toJS, with a process warning
  const odd: ConfigError[] = [];
  visit(doc, {
    Pair(_k, pair) {
      if (!isCollection(pair.key)) return;
      const pos = lines.linePos(pair.key.range?.[0] ?? 0);
      odd.push(new ConfigError('a key must be a plain value, not a mapping or a list', { file, line: pos.line, column: pos.col }));
    },
    // an alias to an anchor defined nowhere before it: toJS would throw a ReferenceError
    Alias(_k, alias) {
      if (alias.resolve(doc) !== undefined) return;
      const pos = lines.linePos(alias.range?.[0] ?? 0);
      odd.push(new ConfigError(`alias *${alias.source} names no anchor defined before it`, { file, line: pos.line, column: pos.col }));
    },
  });
  if (odd.length > 0) throw new ConfigErrors(odd);
  const locator = new Locator(doc, lines);
  const fail = (message: string, path: PathSeg[]): never => {
    const loc = locator.locate(path);
    throw new ConfigError(message, { file, line: loc?.line ?? null, column: loc?.column ?? null, keyPath: keyPathString(path) });
  };
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('config must be a mapping', { file, line: 1 });
  }
  const tree = substitute(raw, [], { baseDir, fail }) as Record<string, unknown>;
  const validate = validatorFor(modules);
  if (!validate(tree)) {
    const seen = new Set<string>();
    const errs: ConfigError[] = [];
    for (const e of validate.errors ?? []) {
      // oneOf/anyOf summaries repeat their branches' errors; keep the specific ones
      if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if') continue;
      const path = pointerToPath(e.instancePath);
      const { message, key } = describeAjvError(e);
      const loc = locator.locate(path, key);
      const keyPath = keyPathString(key === undefined ? path : [...path, key]);
      const id = `${keyPath}|${message}`;
      if (seen.has(id)) continue;
      seen.add(id);
      errs.push(new ConfigError(message, { file, line: loc?.line ?? null, column: loc?.column ?? null, keyPath }));
    }
    if (errs.length === 0) errs.push(new ConfigError('config does not match the schema', { file }));
    throw new ConfigErrors(errs);
  }
  const config = tree as unknown as CanonicalConfig;
  return { file, baseDir, config, hash: createHash('sha256').update(text).digest('hex') };
}

/** Reads and parses a config file. */
export function loadConfigFile(file: string, modules: readonly StageModule[]): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file });
  }
  return parseConfig(text, file, modules);
}
