/**
 * Client certificate (mTLS) verifier. The TLS layer (src/server/tls-options.ts) verifies the chain,
 * expiry and CRLs; this verifier reads the verified peer certificate, maps its identity (SHA-256
 * fingerprint, SAN entries, subject DN compared structurally: dn.ts) to a consumer, and forwards
 * the details upstream.
 *
 * - no TLS, or no certificate: absent (the auth stage answers 401 PC_ERR_AUTH_CERT_REQUIRED)
 * - a certificate the handshake did not verify (client_auth optional): PC_ERR_AUTH_CERT_INVALID
 * - a verified certificate that maps to no consumer: PC_ERR_AUTH_CERT_UNKNOWN (unless allow_unmapped)
 */
import { createHash } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { deny } from '../../../core/decision.js';
import type { ConsumerDirectory, Identity, MethodOptions, Verifier, VerifierEnv, VerifyResult } from '../types.js';
import { CERT_HEADER_DEFAULTS, MTLS_DEFAULTS } from './api-key-schema.js';
import { DnError, OID_CN, certificateNames, dnKey, formatDn, lastValue } from './dn.js';
import type { RequestContext } from '../../../core/stage.js';

/**
 * Default names (lowercase) of the certificate detail headers, plus the RFC 9440 headers that an
 * upstream may trust; the core strips incoming copies.
 */
export const CERT_HEADERS: readonly string[] = [...Object.values(CERT_HEADER_DEFAULTS).map((h) => h.toLowerCase()), 'client-cert', 'client-cert-chain'];

export type CertField = 'fingerprint' | 'san' | 'subject';

/** What the gateway knows about one client certificate. */
export interface CertInfo {
  /** the TLS layer verified the chain (client_auth optional lets unverified ones through) */
  readonly authorized: boolean;
  readonly authorizationError: string | null;
  /** RFC 4514 string from the DER, most specific RDN first: `CN=billing+O=Acme,C=DE` ('' when unreadable) */
  readonly subject: string;
  /** dn.ts `dnKey` of the subject: equal exactly for structurally equal names; null when unreadable */
  readonly subjectKey: string | null;
  readonly issuer: string;
  readonly commonName: string | null;
  /** `DNS:x`, `URI:x`, `email:x`, `IP Address:x`, in certificate order */
  readonly sans: readonly string[];
  /** lowercase hex SHA-256 of the DER certificate */
  readonly fingerprint256: string;
  /** base64url SHA-256 of the DER certificate (RFC 8705 `cnf.x5t#S256`) */
  readonly x5tS256: string;
  /** uppercase hex */
  readonly serial: string;
  /** the DER certificate */
  readonly der: Buffer;
  /** ms since epoch */
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * Parses Node's `subjectaltname` string (`DNS:a, URI:b, IP Address:1.2.3.4`); values with special
 * characters are JSON-quoted by Node (`DNS:"a, b"`), so a comma inside a value cannot forge an entry.
 */
export function parseSubjectAltName(s: string | undefined): string[] {
  if (s === undefined || s === '') return [];
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const colon = s.indexOf(':', i);
    if (colon === -1) break;
    const type = s.slice(i, colon);
    let value: string;
    let next: number;
    if (s[colon + 1] === '"') {
      let j = colon + 2;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(s.slice(colon + 1, j + 1)) as string;
      } catch {
        return out; // malformed: keep what was parsed, fail closed for the rest
      }
      next = j + 1;
    } else {
      const comma = s.indexOf(', ', colon + 1);
      next = comma === -1 ? s.length : comma;
      value = s.slice(colon + 1, next);
    }
    out.push(`${type}:${value}`);
    i = next;
    if (s.startsWith(', ', i)) i += 2;
    else break;
  }
  return out;
}

/** CertInfo of a Node peer certificate; null when the peer sent none. */
export function certInfoOf(
  cert: PeerCertificate | Record<string, never> | null | undefined,
  authorized: boolean,
  authorizationError: string | null,
): CertInfo | null {
  if (cert === null || cert === undefined || !('raw' in cert) || !Buffer.isBuffer(cert.raw) || cert.raw.length === 0) return null;
  const digest = createHash('sha256').update(cert.raw).digest();
  // names from the DER: Node's subject object flattens multi-valued RDNs (CN=a+O=b reads as CN=a,O=b)
  let names: ReturnType<typeof certificateNames> | null;
  try {
    names = certificateNames(cert.raw);
  } catch (e) {
    if (!(e instanceof DnError)) throw e;
    names = null; // fails closed: no subject matches, no subject header
  }
  return {
    authorized,
    authorizationError,
    subject: names === null ? '' : formatDn(names.subject),
    subjectKey: names === null ? null : dnKey(names.subject),
    issuer: names === null ? '' : formatDn(names.issuer),
    commonName: names === null ? null : lastValue(names.subject, OID_CN),
    sans: parseSubjectAltName(cert.subjectaltname),
    fingerprint256: digest.toString('hex'),
    x5tS256: digest.toString('base64url'),
    serial: (cert.serialNumber ?? '').toUpperCase(),
    der: cert.raw,
    notBefore: Date.parse(cert.valid_from),
    notAfter: Date.parse(cert.valid_to),
  };
}

const cache = new WeakMap<TLSSocket, CertInfo | null>();

/** The client certificate of a TLS connection, computed once per connection. */
export function peerCertificateInfo(socket: TLSSocket): CertInfo | null {
  let info = cache.get(socket);
  if (info === undefined) {
    const err = socket.authorizationError as unknown;
    info = certInfoOf(socket.getPeerCertificate(false), socket.authorized, err === null || err === undefined ? null : String(err));
    cache.set(socket, info);
  }
  return info;
}

/** The client certificate of the request's connection (null on plain HTTP or without one). */
export function clientCertificate(ctx: Pick<RequestContext, 'tlsSocket'>): CertInfo | null {
  const s = ctx.tlsSocket;
  return s === null ? null : peerCertificateInfo(s);
}

/** Header values: printable ASCII kept, everything else (and %) percent-encoded. */
export function headerSafe(v: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(v)) return v;
  let out = '';
  for (const b of Buffer.from(v, 'utf8'))
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

export interface MtlsSettings {
  readonly match: ReadonlySet<CertField>;
  readonly allowUnmapped: boolean;
  readonly forward: boolean;
  /** lowercase header names */
  readonly headers: Readonly<Record<keyof typeof CERT_HEADER_DEFAULTS, string>>;
  /** RFC 9440 Client-Cert header name (lowercase), or null when off */
  readonly certHeader: string | null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function mtlsSettings(section: unknown): MtlsSettings {
  const s = isRecord(section) ? section : {};
  const h = isRecord(s['headers']) ? s['headers'] : {};
  const match = Array.isArray(s['match'])
    ? s['match'].filter((m): m is CertField => m === 'fingerprint' || m === 'san' || m === 'subject')
    : [...MTLS_DEFAULTS.match];
  const name = (k: keyof typeof CERT_HEADER_DEFAULTS): string => (typeof h[k] === 'string' ? (h[k] as string) : CERT_HEADER_DEFAULTS[k]).toLowerCase();
  return {
    match: new Set(match),
    allowUnmapped: s['allow_unmapped'] === true,
    forward: s['forward'] !== false,
    headers: { subject: name('subject'), san: name('san'), fingerprint: name('fingerprint'), issuer: name('issuer'), serial: name('serial') },
    certHeader: typeof h['cert'] === 'string' && h['cert'] !== '' ? h['cert'].toLowerCase() : null,
  };
}

/** Every header name the mtls verifier may set (configured and default); strip incoming copies of these. */
export function certHeaderNames(authMtlsSection: unknown): string[] {
  const s = mtlsSettings(authMtlsSection);
  return [...new Set([...CERT_HEADERS, ...Object.values(s.headers), ...(s.certHeader === null ? [] : [s.certHeader])])];
}

/** The decision, pure: certificate (or none), directory, settings, now. */
export function decideMtls(info: CertInfo | null, consumers: Pick<ConsumerDirectory, 'byCertificate'>, s: MtlsSettings, now: number): VerifyResult {
  if (info === null) return { kind: 'absent' };
  if (!info.authorized)
    return { kind: 'fail', deny: deny('PC_ERR_AUTH_CERT_INVALID', { reason: `certificate not verified: ${info.authorizationError ?? 'unknown'}` }) };
  // the handshake checked validity; a keep-alive connection can outlive the certificate
  if (!(now >= info.notBefore && now <= info.notAfter))
    return { kind: 'fail', deny: deny('PC_ERR_AUTH_CERT_INVALID', { reason: 'certificate outside its validity period' }) };
  const consumer = consumers.byCertificate({
    fingerprint256: s.match.has('fingerprint') ? info.fingerprint256 : '',
    sans: s.match.has('san') ? info.sans : [],
    subjectKey: s.match.has('subject') ? info.subjectKey : null,
  });
  if (consumer === undefined && !s.allowUnmapped) {
    return { kind: 'fail', deny: deny('PC_ERR_AUTH_CERT_UNKNOWN', { reason: 'certificate maps to no consumer' }) };
  }
  const identity: Identity = {
    method: 'mtls',
    consumer: consumer?.id ?? null,
    tenant: consumer?.tenant ?? null,
    subject: consumer?.id ?? info.commonName ?? info.subject,
    scopes: [],
    roles: [],
    claims: {
      cert_subject: info.subject,
      cert_issuer: info.issuer,
      cert_san: info.sans,
      cert_fingerprint_sha256: info.fingerprint256,
      cert_serial: info.serial,
      'x5t#S256': info.x5tS256,
    },
    plan: consumer?.plan ?? null,
    expiresAt: info.notAfter,
  };
  return { kind: 'ok', identity };
}

/** Certificate detail headers for the upstream. */
export function certHeaders(info: CertInfo, s: MtlsSettings): Record<string, string> {
  const out: Record<string, string> = {
    [s.headers.subject]: headerSafe(info.subject),
    [s.headers.san]: headerSafe(info.sans.join(', ')),
    [s.headers.fingerprint]: info.fingerprint256,
    [s.headers.issuer]: headerSafe(info.issuer),
    [s.headers.serial]: headerSafe(info.serial),
  };
  if (s.certHeader !== null) out[s.certHeader] = `:${info.der.toString('base64')}:`;
  return out;
}

/** VerifierFactory for `mtls`. */
export function createVerifier(env: VerifierEnv): Verifier {
  const settings = mtlsSettings(env.auth['mtls']);
  return {
    method: 'mtls',
    needsBody: false,
    verify(ctx: RequestContext, _options: MethodOptions): VerifyResult {
      const info = clientCertificate(ctx);
      const res = decideMtls(info, env.consumers, settings, ctx.now);
      if (res.kind === 'ok' && info !== null && settings.forward) Object.assign(ctx.upstreamHeaders, certHeaders(info, settings));
      return res;
    },
  };
}

export const createMtlsVerifier = createVerifier;
