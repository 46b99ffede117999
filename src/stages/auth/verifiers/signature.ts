/**
 * HTTP Message Signatures verifier (RFC 9421), algorithm hmac-sha256 with a per-consumer key
 * (`signature_keys`), Content-Digest (RFC 9530) checked against the buffered body, `created`
 * within a skew window, and each `nonce` accepted once through the state store.
 *
 * Order of checks: parse (bounded) → required components → key → time window → HMAC
 * (constant-time) → Content-Digest against the body → nonce once. The nonce is consumed only for
 * a signature that verified, so that nobody without the key can burn nonces.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { deny, type Deny } from '../../../core/decision.js';
import { ConfigError } from '../../../config/errors.js';
import type { ErrorCode } from '../../../core/errors.js';
import type { StateStore } from '../../../core/state.js';
import type { ConsumerDirectory, Identity, MethodOptions, Verifier, VerifierEnv, VerifyResult } from '../types.js';
import { SIGNATURE_DEFAULTS } from './api-key-schema.js';
import { predatesEpoch, replayEpoch } from '../replay-epoch.js';
import { SfError, parseDictionary, type InnerList } from './structured-fields.js';
import { SignatureBaseError, checkContentDigest, coveredNames, secretBytes, signatureBase, type MessageView } from './signature-base.js';
import type { RequestContext } from '../../../core/stage.js';

export interface SignatureSettings {
  readonly skewSeconds: number;
  readonly requiredComponents: readonly string[];
  readonly nonceRequired: boolean;
  /** effective: at least twice the skew */
  readonly nonceTtlMs: number;
  readonly maxHeaderBytes: number;
}

const MAX_NONCE = 256;
const MAX_LABELS = 8;

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function signatureSettings(section: unknown): SignatureSettings {
  const s = isRecord(section) ? section : {};
  const n = isRecord(s['nonce']) ? s['nonce'] : {};
  const skew = typeof s['skew_seconds'] === 'number' && s['skew_seconds'] > 0 ? s['skew_seconds'] : SIGNATURE_DEFAULTS.skew_seconds;
  const ttl = typeof n['ttl_seconds'] === 'number' && n['ttl_seconds'] > 0 ? n['ttl_seconds'] : SIGNATURE_DEFAULTS.nonce.ttl_seconds;
  const req = Array.isArray(s['required_components'])
    ? s['required_components'].filter((x): x is string => typeof x === 'string')
    : [...SIGNATURE_DEFAULTS.required_components];
  return {
    skewSeconds: skew,
    requiredComponents: req,
    nonceRequired: n['required'] !== false,
    nonceTtlMs: Math.max(ttl, 2 * skew) * 1000,
    maxHeaderBytes: typeof s['max_header_bytes'] === 'number' ? s['max_header_bytes'] : SIGNATURE_DEFAULTS.max_header_bytes,
  };
}

/** The request as RFC 9421 sees it, from the gateway's context (raw target, not the normalised path). */
export function messageViewOf(ctx: Pick<RequestContext, 'req' | 'method' | 'listener'>): MessageView {
  const req = ctx.req;
  let target = req.url ?? '/';
  let authority = (req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '').trim();
  if (!target.startsWith('/') && target !== '*') {
    // absolute-form request target
    try {
      const u = new URL(target);
      authority = u.host;
      target = u.pathname + u.search;
    } catch {
      target = '/';
    }
  }
  const q = target.indexOf('?');
  const raw = req.rawHeaders;
  return {
    method: ctx.method,
    scheme: ctx.listener.tls ? 'https' : 'http',
    authority,
    path: q === -1 ? target : target.slice(0, q),
    query: q === -1 ? null : target.slice(q + 1),
    fieldValues(name: string): string[] {
      const out: string[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === name) out.push(raw[i + 1] as string);
      return out;
    },
  };
}

/** What the verifier needs from one request, gathered by the caller. */
export interface SignedRequest {
  readonly signatureInput: string | undefined;
  readonly signature: string | undefined;
  readonly contentDigest: string | undefined;
  readonly body: Buffer;
  readonly message: MessageView;
}

/** A verified signature, before the nonce check. */
export interface VerifiedSignature {
  readonly identity: Identity;
  readonly keyId: string;
  readonly nonce: string | null;
  /** the `created` parameter (seconds since epoch) */
  readonly created: number;
}

const fail = (code: ErrorCode, reason: string): { kind: 'fail'; deny: Deny } => ({ kind: 'fail', deny: deny(code, { reason }) });
type Failure = ReturnType<typeof fail>;

/** Whether the covered components satisfy the required ones (@target-uri ≡ @path+@query+@authority). */
export function missingRequired(covered: readonly string[], required: readonly string[], hasBody: boolean): string | null {
  const set = new Set(covered);
  for (const r of required) {
    if (set.has(r)) continue;
    if (r === '@target-uri' && set.has('@path') && set.has('@query') && set.has('@authority')) continue;
    if (r === '@target-uri' && set.has('@request-target') && set.has('@authority')) continue;
    if (r === 'content-digest' && !hasBody) continue;
    return r;
  }
  return null;
}

function evaluate(
  label: string,
  params: InnerList,
  sigBytes: Buffer,
  r: SignedRequest,
  consumers: Pick<ConsumerDirectory, 'bySignatureKeyId'>,
  s: SignatureSettings,
  required: readonly string[],
  nowMs: number,
): VerifiedSignature | Failure {
  const p = params.params;
  const created = p.get('created');
  const expires = p.get('expires');
  const keyid = p.get('keyid');
  const alg = p.get('alg');
  const nonce = p.get('nonce');
  if (created === undefined || created.t !== 'int') return fail('PC_ERR_AUTH_SIGNATURE_INVALID', 'created parameter missing or not an integer');
  if (expires !== undefined && expires.t !== 'int') return fail('PC_ERR_AUTH_SIGNATURE_INVALID', 'expires parameter not an integer');
  if (keyid === undefined || keyid.t !== 'str' || keyid.v === '' || keyid.v.length > 128)
    return fail('PC_ERR_AUTH_SIGNATURE_INVALID', 'keyid parameter missing or invalid');
  if (alg !== undefined && (alg.t !== 'str' || alg.v !== 'hmac-sha256')) return fail('PC_ERR_AUTH_SIGNATURE_INVALID', 'alg not allowed (hmac-sha256 only)');
  if (nonce !== undefined && (nonce.t !== 'str' || nonce.v === '' || nonce.v.length > MAX_NONCE))
    return fail('PC_ERR_AUTH_SIGNATURE_INVALID', 'nonce parameter invalid');
  if (nonce === undefined && s.nonceRequired) return fail('PC_ERR_AUTH_SIGNATURE_INVALID', 'nonce parameter required');
  const covered = coveredNames(params);
  const missing = missingRequired(covered, required, r.body.length > 0);
  if (missing !== null) return fail('PC_ERR_AUTH_SIGNATURE_INVALID', `signature does not cover ${missing}`);
  if (r.body.length > 0 && r.contentDigest === undefined && required.includes('content-digest')) {
    return fail('PC_ERR_AUTH_SIGNATURE_INVALID', 'Content-Digest required for a body');
  }
  const found = consumers.bySignatureKeyId(keyid.v);
  if (found === undefined) return fail('PC_ERR_AUTH_SIGNATURE_INVALID', 'unknown keyid');
  if (found.key.disabled) return fail('PC_ERR_AUTH_SIGNATURE_INVALID', 'signature key disabled');
  const nowS = nowMs / 1000;
  if (created.v > nowS + s.skewSeconds) return fail('PC_ERR_AUTH_SIGNATURE_STALE', 'created is in the future beyond the skew window');
  if (created.v < nowS - s.skewSeconds) return fail('PC_ERR_AUTH_SIGNATURE_STALE', 'created is older than the skew window');
  if (expires !== undefined && expires.v < nowS) return fail('PC_ERR_AUTH_SIGNATURE_STALE', 'signature expired');
  let base: string;
  try {
    base = signatureBase(r.message, params);
  } catch (e) {
    if (e instanceof SignatureBaseError || e instanceof SfError) return fail('PC_ERR_AUTH_SIGNATURE_INVALID', e.message);
    throw e;
  }
  const mac = createHmac('sha256', secretBytes(found.key.secret)).update(base, 'utf8').digest();
  if (sigBytes.length !== mac.length || !timingSafeEqual(sigBytes, mac)) return fail('PC_ERR_AUTH_SIGNATURE_INVALID', 'signature does not match');
  if (r.contentDigest !== undefined) {
    const d = checkContentDigest(r.contentDigest, r.body);
    if (!d.ok) return fail('PC_ERR_AUTH_DIGEST_MISMATCH', d.reason);
  }
  const c = found.consumer;
  return {
    keyId: keyid.v,
    nonce: nonce === undefined ? null : (nonce.v as string),
    created: created.v as number,
    identity: {
      method: 'signature',
      consumer: c.id,
      tenant: c.tenant,
      subject: c.id,
      scopes: [],
      roles: [],
      claims: { signature_key_id: keyid.v, signature_label: label, signature_covered: covered },
      plan: c.plan,
      expiresAt: expires === undefined ? null : (expires.v as number) * 1000,
    },
  };
}

/**
 * The pure part of the decision: parses the headers and verifies the first signature that checks
 * out (there may be several labels, e.g. one added by a proxy). Returns the failure of the first
 * label when none verifies. The nonce is not consumed here.
 */
export function verifySignedRequest(
  r: SignedRequest,
  consumers: Pick<ConsumerDirectory, 'bySignatureKeyId'>,
  s: SignatureSettings,
  nowMs: number,
  required: readonly string[] = s.requiredComponents,
): { kind: 'absent' } | Failure | { kind: 'verified'; sig: VerifiedSignature } {
  if (r.signatureInput === undefined && r.signature === undefined) return { kind: 'absent' };
  if (r.signatureInput === undefined || r.signature === undefined)
    return fail('PC_ERR_AUTH_SIGNATURE_MISSING', 'Signature and Signature-Input must both be present');
  if (r.signatureInput.length > s.maxHeaderBytes || r.signature.length > s.maxHeaderBytes)
    return fail('PC_ERR_AUTH_SIGNATURE_INVALID', 'signature header too large');
  let inputs: ReturnType<typeof parseDictionary>;
  let sigs: ReturnType<typeof parseDictionary>;
  try {
    const limits = { maxMembers: MAX_LABELS, maxListItems: 32, maxParams: 16 };
    inputs = parseDictionary(r.signatureInput, limits);
    sigs = parseDictionary(r.signature, limits);
  } catch (e) {
    if (e instanceof SfError) return fail('PC_ERR_AUTH_SIGNATURE_INVALID', `malformed signature header: ${e.message}`);
    throw e;
  }
  let first: Failure | null = null;
  for (const [label, m] of inputs) {
    const sm = sigs.get(label);
    if (m.kind !== 'list' || sm === undefined || sm.kind !== 'item' || sm.value.t !== 'bin') continue;
    const res = evaluate(label, m, sm.value.v, r, consumers, s, required, nowMs);
    if (!('kind' in res)) return { kind: 'verified', sig: res };
    first ??= res;
  }
  return first ?? fail('PC_ERR_AUTH_SIGNATURE_INVALID', 'no signature label pairs an inner list with a byte sequence');
}

/** Store key of a nonce: bounded length whatever the client sends. */
export function nonceKey(keyId: string, nonce: string): string {
  return `sig:nonce:${createHash('sha256').update(`${keyId.length}:${keyId}:${nonce}`).digest('base64url')}`;
}

/** Routes may override the required components: `signature: { required_components: [...] }`. */
function routeRequired(options: MethodOptions, s: SignatureSettings): readonly string[] {
  const rc = options['required_components'];
  return Array.isArray(rc) ? rc.filter((x): x is string => typeof x === 'string') : s.requiredComponents;
}

/** VerifierFactory for `signature`. */
export function createVerifier(env: VerifierEnv): Verifier {
  const settings = signatureSettings(env.auth['signature']);
  for (const c of env.consumers.list) {
    c.credentials.signature_keys.forEach((k, i) => {
      if (secretBytes(k.secret).length < 32) {
        throw new ConfigError('signature key secret must be at least 32 bytes', {
          file: env.file,
          keyPath: `consumers[${c.id}].credentials.signature_keys[${i}].secret`,
        });
      }
    });
  }
  const services = env.services;
  replayEpoch(services.store, services.clock());
  return {
    method: 'signature',
    needsBody: true,
    async verify(ctx: RequestContext, options: MethodOptions): Promise<VerifyResult> {
      const h = ctx.req.headers;
      const r: SignedRequest = {
        signatureInput: h['signature-input'] as string | undefined,
        signature: h['signature'] as string | undefined,
        contentDigest: h['content-digest'] as string | undefined,
        body: ctx.body ?? Buffer.alloc(0),
        message: messageViewOf(ctx),
      };
      const res = verifySignedRequest(r, env.consumers, settings, ctx.now, routeRequired(options, settings));
      if (res.kind !== 'verified') return res;
      return consumeNonce(res.sig, services.store, settings, replayEpoch(services.store, ctx.now));
    },
  };
}

/**
 * Accepts the nonce once; a store failure fails closed (503). `epochMs` (replay-epoch.ts): when the
 * store forgets on restart, a nonce-checked signature created before it began is refused, with no
 * skew allowance.
 */
export async function consumeNonce(sig: VerifiedSignature, store: StateStore, s: SignatureSettings, epochMs: number | null = null): Promise<VerifyResult> {
  if (sig.nonce !== null) {
    if (predatesEpoch(sig.created, epochMs)) return fail('PC_ERR_AUTH_PREDATES_START', 'signature created before the gateway started (memory replay store)');
    let first: boolean;
    try {
      first = await store.once(nonceKey(sig.keyId, sig.nonce), s.nonceTtlMs);
    } catch {
      return fail('PC_ERR_AUTH_UNAVAILABLE', 'state store unavailable for the nonce check');
    }
    if (!first) return fail('PC_ERR_AUTH_SIGNATURE_REPLAYED', 'nonce already used');
  }
  return { kind: 'ok', identity: sig.identity };
}

export const createSignatureVerifier = createVerifier;
