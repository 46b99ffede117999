/**
 * The consumer directory: consumers from config, indexed once per snapshot for O(1) lookups by
 * credential (JWT subject/client id, API key id, signature key id, certificate identity).
 */
import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import type { ConsumerConfig, ConsumerCredentials, ConsumerDirectory } from './types.js';
import { dnKey, parseDn } from './verifiers/dn.js';

/** Raw `consumers` entries after schema defaults. */
export interface RawConsumer {
  id: string;
  tenant?: string;
  plan?: string;
  disabled?: boolean;
  credentials?: Partial<ConsumerCredentials>;
}

export interface RawTenant {
  id: string;
  routes?: string[];
  plan?: string;
  disabled?: boolean;
}

/** Lowercase hex without colons. */
export function normaliseFingerprint(fp: string): string {
  return fp.replace(/:/g, '').toLowerCase();
}

/** SAN entry `DNS:x` compared with the type case-insensitively. */
export function normaliseSan(san: string): string {
  const c = san.indexOf(':');
  return c < 0 ? san : `${san.slice(0, c).trim().toUpperCase()}:${san.slice(c + 1).trim()}`;
}

/** Longest value segment of an unmapped principal's id kept as is; longer ones are hashed. */
const MAX_ID_SEGMENT = 128;

const ID_SAFE = /^[A-Za-z0-9_.:@~+=-]*$/;
const ID_SAFE_CHAR = /^[A-Za-z0-9_.:@~+=-]$/;

/**
 * Percent-encodes every character outside `A-Z a-z 0-9 _ . : @ ~ + = -` (so `/` and `%` always
 * are) as its UTF-8 bytes; a lone surrogate (possible in JSON strings) as `%uXXXX`, so that
 * distinct strings stay distinct.
 */
function idSegment(s: string): string {
  if (ID_SAFE.test(s)) return s;
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ID_SAFE_CHAR.test(ch)) out += ch;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += `%u${cp.toString(16).toUpperCase()}`;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Consumer id of a verified JWT that maps to no configured consumer:
 *
 *   jwt/<provider>/sub/<sub>                (the token has a `sub`)
 *   jwt/<provider>/client/<client id>       (no `sub`: its `client_id`, else `azp`)
 *
 * `<provider>` is the name in `auth.jwt.providers`; provider and value are percent-encoded
 * (UTF-8) outside `A-Z a-z 0-9 _ . : @ ~ + = -`, so each part is one segment and `/` only
 * separates (a lone surrogate becomes `%uXXXX`). A value longer than 128 characters once encoded
 * is replaced by the base64url SHA-256 of its UTF-16 code units, with the kind `sub-sha256` or
 * `client-sha256`. Configured consumer ids
 * cannot contain `/` (schema pattern), so no token claim can name a configured consumer, and the
 * provider segment keeps two providers' subjects apart. Null when the token has neither.
 */
export function unmappedJwtConsumerId(provider: string, sub: string | null, clientId: string | null): string | null {
  const kind = sub !== null ? 'sub' : clientId !== null ? 'client' : null;
  if (kind === null) return null;
  const raw = (sub ?? clientId) as string;
  const value = idSegment(raw);
  const p = idSegment(provider);
  if (value.length <= MAX_ID_SEGMENT) return `jwt/${p}/${kind}/${value}`;
  return `jwt/${p}/${kind}-sha256/${createHash('sha256').update(Buffer.from(raw, 'utf16le')).digest('base64url')}`;
}

export function buildDirectory(raw: readonly RawConsumer[], tenants: readonly RawTenant[] = []): ConsumerDirectory {
  const disabledTenants = new Set(tenants.filter((t) => t.disabled === true).map((t) => t.id));
  const tenantPlans = new Map(tenants.map((t) => [t.id, t.plan ?? null]));
  const list: ConsumerConfig[] = raw.map((c) => ({
    id: c.id,
    tenant: c.tenant ?? null,
    plan: c.plan ?? (c.tenant !== undefined ? (tenantPlans.get(c.tenant) ?? null) : null),
    disabled: c.disabled === true || (c.tenant !== undefined && disabledTenants.has(c.tenant)),
    credentials: {
      api_keys: (c.credentials?.api_keys ?? []).map((k) => ({ ...k, disabled: k.disabled === true })),
      certificates: c.credentials?.certificates ?? [],
      jwt: c.credentials?.jwt ?? [],
      signature_keys: (c.credentials?.signature_keys ?? []).map((k) => ({ ...k, disabled: k.disabled === true })),
    },
  }));
  const byId = new Map<string, ConsumerConfig>();
  const jwtSub = new Map<string, ConsumerConfig>();
  const jwtClient = new Map<string, ConsumerConfig>();
  const apiKeys = new Map<string, { consumer: ConsumerConfig; key: ConsumerCredentials['api_keys'][number] }>();
  const sigKeys = new Map<string, { consumer: ConsumerConfig; key: ConsumerCredentials['signature_keys'][number] }>();
  const certs: { consumer: ConsumerConfig; fingerprint: string | null; san: string | null; subject: string | null }[] = [];
  for (const c of list) {
    byId.set(c.id, c);
    // JWT identities map disabled consumers too: the verifier refuses them (a token of a disabled
    // consumer must not pass as an unmapped subject)
    for (const j of c.credentials.jwt) {
      if (j.sub !== undefined) jwtSub.set(`${j.provider}\u0000${j.sub}`, c);
      if (j.client_id !== undefined) jwtClient.set(`${j.provider}\u0000${j.client_id}`, c);
    }
    if (c.disabled) continue;
    for (const k of c.credentials.api_keys) apiKeys.set(k.id, { consumer: c, key: k });
    for (const k of c.credentials.signature_keys) sigKeys.set(k.key_id, { consumer: c, key: k });
    for (const x of c.credentials.certificates) {
      certs.push({
        consumer: c,
        fingerprint: x.fingerprint !== undefined ? normaliseFingerprint(x.fingerprint) : null,
        san: x.san !== undefined ? normaliseSan(x.san) : null,
        // structural: a multi-valued RDN (CN=a+O=b) never equals two RDNs (CN=a,O=b); dn.ts
        subject: x.subject !== undefined ? dnKey(parseDn(x.subject)) : null,
      });
    }
  }
  return {
    list,
    byId: (id) => byId.get(id),
    byJwt(provider, sub, clientId) {
      if (sub !== null) {
        const c = jwtSub.get(`${provider}\u0000${sub}`);
        if (c) return c;
      }
      return clientId !== null ? jwtClient.get(`${provider}\u0000${clientId}`) : undefined;
    },
    byApiKeyId: (keyId) => apiKeys.get(keyId),
    bySignatureKeyId: (keyId) => sigKeys.get(keyId),
    byCertificate(cert) {
      if (certs.length === 0) return undefined;
      const fp = normaliseFingerprint(cert.fingerprint256);
      const sans = new Set(cert.sans.map(normaliseSan));
      for (const e of certs) {
        if (e.fingerprint !== null && e.fingerprint !== fp) continue;
        if (e.san !== null && !sans.has(e.san)) continue;
        if (e.subject !== null && e.subject !== cert.subjectKey) continue;
        return e.consumer;
      }
      return undefined;
    },
  };
}
