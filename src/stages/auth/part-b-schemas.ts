/**
 * The API key, mTLS and signature sub-schemas are written in ./verifiers/api-key-schema.ts
 * (exports apiKeySchema, mtlsSchema, signatureSchema for `auth.*`, and optionally
 * apiKeyRouteSchema, mtlsRouteSchema, signatureRouteSchema for the per-route options).
 * Until that file exists, permissive placeholders keep the config loadable.
 */
import type { JsonSchema } from '../../config/json-schema.js';

const placeholder = (description: string): JsonSchema => ({ type: 'object', default: {}, description });

const specifier = './verifiers/api-key-schema.js';
let loaded: Record<string, unknown> = {};
try {
  loaded = (await import(specifier)) as Record<string, unknown>;
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  if (err.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('api-key-schema')) throw e;
}

const pick = (name: string, description: string): JsonSchema => (loaded[name] as JsonSchema | undefined) ?? placeholder(description);

export const partB = {
  apiKeySchema: pick('apiKeySchema', 'API key settings.'),
  mtlsSchema: pick('mtlsSchema', 'Client certificate identity settings.'),
  signatureSchema: pick('signatureSchema', 'HTTP message signature settings.'),
  apiKeyRouteSchema: pick('apiKeyRouteSchema', 'An API key.'),
  mtlsRouteSchema: pick('mtlsRouteSchema', 'A client certificate.'),
  signatureRouteSchema: pick('signatureRouteSchema', 'An HTTP message signature (RFC 9421).'),
} as const;
