/**
 * The signature base of HTTP Message Signatures (RFC 9421 section 2.5), shared by the verifier
 * (./signature.ts) and the client-side signer (./signature-sign.ts). Pure: the request is given
 * as a small view, so that the same code runs on both sides and on RFC test vectors.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { SfError, parseDictionary, serializeInnerList, serializeItem, type InnerList, type Item } from './structured-fields.js';

/** The parts of a request a signature can cover. */
export interface MessageView {
  /** uppercase method */
  readonly method: string;
  /** 'http' | 'https' */
  readonly scheme: string;
  /** Host (or :authority) as sent, e.g. `example.com:8443` */
  readonly authority: string;
  /** raw path as sent, e.g. `/foo/bar` */
  readonly path: string;
  /** raw query without '?', '' when none; null when the target had no '?' at all */
  readonly query: string | null;
  /** every field line value of a (lowercase) field name, in order; [] when absent */
  fieldValues(name: string): readonly string[];
}

export class SignatureBaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureBaseError';
  }
}

/** Derived components this implementation supports (request side). */
export const DERIVED = new Set(['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query', '@query-param']);

const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** RFC 9421 2.2.3: lowercase host, default port removed. */
export function normaliseAuthority(authority: string, scheme: string): string {
  let a = authority.trim().toLowerCase();
  if ((scheme === 'https' && a.endsWith(':443')) || (scheme === 'http' && a.endsWith(':80'))) a = a.slice(0, a.lastIndexOf(':'));
  return a;
}

// application/x-www-form-urlencoded percent-encode set (WHATWG URL): all but ALPHA DIGIT *-._
function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new SignatureBaseError('query parameter is not valid percent-encoding');
  }
}

/** The value(s) of one covered component; several lines only for a repeated @query-param. */
function componentValues(msg: MessageView, c: Item): string[] {
  if (c.value.t !== 'str') throw new SignatureBaseError('component identifier must be a string');
  const name = c.value.v;
  if (name.startsWith('@')) {
    if (!DERIVED.has(name)) throw new SignatureBaseError(`unsupported derived component ${name}`);
    const allowed = name === '@query-param' ? ['name'] : [];
    for (const k of c.params.keys()) if (!allowed.includes(k)) throw new SignatureBaseError(`unsupported parameter ${k} on ${name}`);
    const path = msg.path === '' ? '/' : msg.path;
    const query = msg.query ?? '';
    switch (name) {
      case '@method':
        return [msg.method];
      case '@target-uri':
        return [`${msg.scheme.toLowerCase()}://${normaliseAuthority(msg.authority, msg.scheme)}${path}${msg.query === null ? '' : `?${query}`}`];
      case '@authority':
        return [normaliseAuthority(msg.authority, msg.scheme)];
      case '@scheme':
        return [msg.scheme.toLowerCase()];
      case '@request-target':
        return [`${path}${msg.query === null ? '' : `?${query}`}`];
      case '@path':
        return [path];
      case '@query':
        return [`?${query}`];
      case '@query-param': {
        const p = c.params.get('name');
        if (p === undefined || p.t !== 'str') throw new SignatureBaseError('@query-param needs a string name parameter');
        const wanted = formDecode(p.v);
        const out: string[] = [];
        if (query !== '') {
          for (const pair of query.split('&')) {
            const eq = pair.indexOf('=');
            const k = formDecode(eq === -1 ? pair : pair.slice(0, eq));
            if (k === wanted) out.push(formEncode(formDecode(eq === -1 ? '' : pair.slice(eq + 1))));
          }
        }
        if (out.length === 0) throw new SignatureBaseError('covered query parameter is absent');
        return out;
      }
    }
  }
  if (!FIELD_NAME.test(name)) throw new SignatureBaseError('component name must be a lowercase field name');
  if (c.params.size > 0) throw new SignatureBaseError(`unsupported parameters on field ${name}`);
  const values = msg.fieldValues(name);
  if (values.length === 0) throw new SignatureBaseError(`covered field ${name} is absent`);
  return [values.map((v) => v.trim()).join(', ')];
}

/**
 * Builds the signature base for `signatureParams` (the covered components with their parameters,
 * as found in Signature-Input). Throws SignatureBaseError when a component cannot be resolved.
 */
export function signatureBase(msg: MessageView, signatureParams: InnerList): string {
  const seen = new Set<string>();
  let out = '';
  for (const c of signatureParams.items) {
    const id = serializeItem(c);
    if (seen.has(id)) throw new SignatureBaseError('component listed twice');
    seen.add(id);
    for (const v of componentValues(msg, c)) {
      if (/[\r\n]/.test(v)) throw new SignatureBaseError('component value contains a line break');
      out += `${id}: ${v}\n`;
    }
  }
  out += `"@signature-params": ${serializeInnerList(signatureParams)}`;
  return out;
}

/** Names of the covered components (strings only), for required-component checks. */
export function coveredNames(l: InnerList): string[] {
  return l.items.map((i) => (i.value.t === 'str' ? i.value.v : ''));
}

// --- Content-Digest (RFC 9530) -------------------------------------------------------------------

export type DigestAlg = 'sha-256' | 'sha-512';
const NODE_ALG: Record<DigestAlg, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

/** `sha-256=:...:` for a body. */
export function contentDigest(body: Buffer | string, alg: DigestAlg = 'sha-256'): string {
  return `${alg}=:${createHash(NODE_ALG[alg]).update(body).digest('base64')}:`;
}

/**
 * Checks a Content-Digest field value against the body. Every supported algorithm listed must
 * match; unknown algorithms are ignored (RFC 9530); at least one supported one is required.
 */
export function checkContentDigest(fieldValue: string, body: Buffer): { ok: true } | { ok: false; reason: string } {
  let dict: ReturnType<typeof parseDictionary>;
  try {
    dict = parseDictionary(fieldValue, { maxMembers: 8, maxListItems: 1, maxParams: 4 });
  } catch (e) {
    if (e instanceof SfError) return { ok: false, reason: `Content-Digest is malformed: ${e.message}` };
    throw e;
  }
  let checked = 0;
  for (const [alg, m] of dict) {
    if (alg !== 'sha-256' && alg !== 'sha-512') continue;
    if (m.kind !== 'item' || m.value.t !== 'bin') return { ok: false, reason: `Content-Digest ${alg} is not a byte sequence` };
    const want = createHash(NODE_ALG[alg]).update(body).digest();
    if (m.value.v.length !== want.length || !timingSafeEqual(m.value.v, want)) return { ok: false, reason: `Content-Digest ${alg} does not match the body` };
    checked++;
  }
  return checked > 0 ? { ok: true } : { ok: false, reason: 'Content-Digest names no supported algorithm (sha-256, sha-512)' };
}

/** Decodes a shared secret: `base64:<b64>` for binary keys, otherwise the UTF-8 bytes. */
export function secretBytes(secret: string | Buffer): Buffer {
  if (Buffer.isBuffer(secret)) return secret;
  return secret.startsWith('base64:') ? Buffer.from(secret.slice(7), 'base64') : Buffer.from(secret, 'utf8');
}
