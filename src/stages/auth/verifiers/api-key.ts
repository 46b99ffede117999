/**
 * API key verifier. Keys look like `pc_<key id>_<43 base64url chars>` (32 random bytes); config
 * holds only HMAC-SHA-256(auth.api_keys.secret, whole key) per key id, so a leaked config does not
 * leak keys and a key is found in O(1) by its id. Comparison is constant-time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { deny } from '../../../core/decision.js';
import { ConfigError } from '../../../config/errors.js';
import type { ConsumerConfig, ConsumerDirectory, MethodOptions, Verifier, VerifierEnv, VerifyResult } from '../types.js';
import { APIKEY_DEFAULTS, parseExpiry } from './api-key-schema.js';
import type { RequestContext } from '../../../core/stage.js';

export const APIKEY_PREFIX = 'pc_';
/** base64url length of 32 random bytes */
const RANDOM_LEN = 43;
const KID_RE = /^[A-Za-z0-9_.:@-]{1,128}$/;
const RANDOM_RE = /^[A-Za-z0-9_-]{43}$/;

export interface ApiKeySettings {
  /** the pepper; null when not configured (every key is then refused) */
  readonly secret: string | null;
  /** lowercase header name */
  readonly header: string;
  readonly queryEnabled: boolean;
  readonly queryName: string;
  readonly maxLength: number;
}

/** Splits a key into its id and random part; null when it is not a well-formed key. */
export function parseApiKey(key: string): { kid: string; random: string } | null {
  if (!key.startsWith(APIKEY_PREFIX) || key.length < APIKEY_PREFIX.length + 2 + RANDOM_LEN) return null;
  const sep = key.length - RANDOM_LEN - 1;
  if (key.charCodeAt(sep) !== 0x5f /* _ */) return null;
  const kid = key.slice(APIKEY_PREFIX.length, sep);
  const random = key.slice(sep + 1);
  if (!KID_RE.test(kid) || !RANDOM_RE.test(random)) return null;
  return { kid, random };
}

/** HMAC-SHA-256 of the whole key under the server secret, lowercase hex (what config stores). */
export function hashApiKey(key: string, secret: string): string {
  return createHmac('sha256', secret).update(key, 'utf8').digest('hex');
}

/** A new random key for key id `kid`. */
export function generateApiKey(kid: string): string {
  if (!KID_RE.test(kid)) throw new Error(`key id must match ${KID_RE.source}`);
  return `${APIKEY_PREFIX}${kid}_${randomBytes(32).toString('base64url')}`;
}

/** A fresh random key id (10 base62-ish characters). */
export function generateKeyId(): string {
  return randomBytes(8).toString('base64url').replace(/[-_]/g, '').slice(0, 10) || 'k';
}

/** Where the request carried a key. Several copies (or header and query both) are refused. */
export interface PresentedKeys {
  readonly header: string | undefined;
  readonly query: readonly string[];
}

/** Reads the candidate key(s) from the request, without judging them. */
export function presentedKeys(ctx: Pick<RequestContext, 'req' | 'query'>, s: ApiKeySettings): PresentedKeys {
  const raw = ctx.req.headers[s.header];
  const header = Array.isArray(raw) ? raw.join(', ') : raw;
  let query: string[] = [];
  if (s.queryEnabled && ctx.query !== '' && ctx.query.includes(`${s.queryName}=`)) {
    query = new URLSearchParams(ctx.query).getAll(s.queryName);
  }
  return { header, query };
}

const invalid = (reason: string): VerifyResult => ({ kind: 'fail', deny: deny('PC_ERR_AUTH_APIKEY_INVALID', { reason }) });

const DUMMY_HASH = Buffer.alloc(32);

/**
 * The decision, pure: given the presented key(s), the consumer directory, the settings and `now`.
 * The HMAC is computed for unknown key ids too, so that timing does not tell them apart.
 */
export function decideApiKey(presented: PresentedKeys, consumers: Pick<ConsumerDirectory, 'byApiKeyId'>, s: ApiKeySettings, now: number): VerifyResult {
  const count = (presented.header === undefined ? 0 : 1) + presented.query.length;
  if (count === 0) return { kind: 'absent' };
  if (count > 1) return invalid('more than one API key in the request');
  const key = (presented.header ?? presented.query[0] ?? '').trim();
  if (key === '') return invalid('empty API key');
  if (key.length > s.maxLength) return invalid('API key too long');
  const parsed = parseApiKey(key);
  if (parsed === null) return invalid('malformed API key');
  if (s.secret === null) return invalid('no API key secret configured');
  const found = consumers.byApiKeyId(parsed.kid);
  const computed = createHmac('sha256', s.secret).update(key, 'utf8').digest();
  const stored = found !== undefined && /^[0-9a-fA-F]{64}$/.test(found.key.hash) ? Buffer.from(found.key.hash, 'hex') : DUMMY_HASH;
  const equal = timingSafeEqual(computed, stored);
  if (found === undefined) return invalid('unknown API key id');
  if (!equal || stored === DUMMY_HASH) return invalid('API key does not match its hash');
  if (found.key.disabled) return invalid('API key disabled');
  const expiresAt = parseExpiry(found.key.expires);
  if (expiresAt !== null && !(now < expiresAt)) {
    // NaN (unparseable expiry) also lands here: fail closed
    return { kind: 'fail', deny: deny('PC_ERR_AUTH_APIKEY_EXPIRED', { reason: 'API key expired' }) };
  }
  return { kind: 'ok', identity: identityOf(found.consumer, parsed.kid, expiresAt) };
}

function identityOf(c: ConsumerConfig, kid: string, expiresAt: number | null): Extract<VerifyResult, { kind: 'ok' }>['identity'] {
  return {
    method: 'api_key',
    consumer: c.id,
    tenant: c.tenant,
    subject: c.id,
    scopes: [],
    roles: [],
    claims: { api_key_id: kid },
    plan: c.plan,
    expiresAt,
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Settings from the `auth.api_keys` section (defaults applied here too, for direct callers). */
export function apiKeySettings(section: unknown): ApiKeySettings {
  const s = isRecord(section) ? section : {};
  const q = isRecord(s['query']) ? s['query'] : {};
  return {
    secret: typeof s['secret'] === 'string' && s['secret'] !== '' ? s['secret'] : null,
    header: (typeof s['header'] === 'string' ? s['header'] : APIKEY_DEFAULTS.header).toLowerCase(),
    queryEnabled: q['enabled'] === true,
    queryName: typeof q['name'] === 'string' && q['name'] !== '' ? q['name'] : APIKEY_DEFAULTS.query.name,
    maxLength: typeof s['max_length'] === 'number' ? s['max_length'] : APIKEY_DEFAULTS.max_length,
  };
}

/** VerifierFactory for `api_key`. */
export function createVerifier(env: VerifierEnv): Verifier {
  const settings = apiKeySettings(env.auth['api_keys']);
  const anyKeys = env.consumers.list.some((c) => c.credentials.api_keys.length > 0);
  if (anyKeys && (settings.secret === null || settings.secret.length < 32)) {
    throw new ConfigError('auth.api_keys.secret (at least 32 characters, e.g. ${env:PORTCULLIS_APIKEY_SECRET}) is required when consumers have api_keys', {
      file: env.file,
      keyPath: 'auth.api_keys.secret',
    });
  }
  for (const c of env.consumers.list) {
    c.credentials.api_keys.forEach((k, i) => {
      if (!/^[0-9a-f]{64}$/.test(k.hash) || Number.isNaN(parseExpiry(k.expires))) {
        throw new ConfigError('API key entry needs a 64-character lowercase hex hash (from `portcullis keys create`) and an RFC 3339 expiry', {
          file: env.file,
          keyPath: `consumers[${c.id}].credentials.api_keys[${i}]`,
        });
      }
    });
  }
  return {
    method: 'api_key',
    needsBody: false,
    verify(ctx: RequestContext, _options: MethodOptions): VerifyResult {
      return decideApiKey(presentedKeys(ctx, settings), env.consumers, settings, ctx.now);
    },
  };
}

export const createApiKeyVerifier = createVerifier;
