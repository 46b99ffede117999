/**
 * Loads an OpenAPI 3.0 / 3.1 document (YAML or JSON) and dereferences every local and
 * relative-file `$ref` at load time. Remote (http) references are refused: a spec must not make
 * the gateway fetch from the network at startup. Any unresolvable reference is a ConfigError
 * naming the file, never a silently skipped check. Circular references stay circular (shared JS
 * objects); the schema converter turns them into `$defs`.
 */
import { resolve } from 'node:path';
import { $RefParser } from '@apidevtools/json-schema-ref-parser';
import { ConfigError } from '../config/errors.js';
import type { OpenApiVersion } from './types.js';

export interface LoadedSpec {
  /** absolute path of the document */
  readonly file: string;
  readonly version: OpenApiVersion;
  /** the dereferenced document */
  readonly doc: Record<string, unknown>;
}

function short(msg: string): string {
  const first = msg.split('\n')[0] ?? msg;
  return first.length > 300 ? `${first.slice(0, 300)}...` : first;
}

/** Reads and dereferences an OpenAPI document. `where` locates the config key for errors. */
export async function loadOpenApi(file: string, where?: { configFile: string; keyPath: string }): Promise<LoadedSpec> {
  const abs = resolve(file);
  const fail = (message: string): never => {
    throw new ConfigError(`OpenAPI document ${abs}: ${message}`, where ? { file: where.configFile, keyPath: where.keyPath } : { file: abs });
  };
  let doc: unknown;
  try {
    const parser = new $RefParser();
    doc = await parser.dereference(abs, {
      resolve: { external: true, http: false },
      dereference: { circular: true },
      continueOnError: false,
      timeoutMs: 10000,
    });
  } catch (e) {
    const err = e as Error & { code?: string; source?: string; path?: string };
    const name = err.name || 'Error';
    let msg = short(err.message ?? String(e));
    if (name === 'MissingPointerError' || name === 'ResolverError' || name === 'InvalidPointerError' || /\$ref|pointer|resolve/i.test(msg)) {
      msg = `unresolvable $ref: ${msg}`;
    }
    if (err.source && !msg.includes(err.source)) msg += ` (in ${err.source})`;
    return fail(msg);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return fail('not an object');
  const d = doc as Record<string, unknown>;
  const v = d['openapi'];
  if (typeof v !== 'string') return fail('missing `openapi` version field (Swagger 2.0 is not supported)');
  let version: OpenApiVersion;
  if (/^3\.0\.\d+/.test(v)) version = '3.0';
  else if (/^3\.1\.\d+/.test(v)) version = '3.1';
  else return fail(`unsupported OpenAPI version ${JSON.stringify(v).slice(0, 20)} (3.0.x and 3.1.x are supported)`);
  const paths = d['paths'];
  if (paths !== undefined && (paths === null || typeof paths !== 'object' || Array.isArray(paths))) return fail('`paths` must be an object');
  return { file: abs, version, doc: d };
}
