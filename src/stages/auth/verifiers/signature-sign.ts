/**
 * Client-side signer for HTTP Message Signatures (RFC 9421, hmac-sha256), used by tests and by
 * `portcullis probe`: returns the Content-Digest, Signature-Input and Signature headers to add.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { sfInt, sfItem, sfString, type BareItem, type InnerList } from './structured-fields.js';
import { contentDigest, secretBytes, signatureBase, type DigestAlg, type MessageView } from './signature-base.js';

export interface SignOptions {
  readonly method: string;
  /** absolute URL, e.g. `https://127.0.0.1:8443/orders?id=1` */
  readonly url: string | URL;
  /** headers the request will carry (names any case); covered fields are read from here */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
  readonly keyId: string;
  /** shared secret; `base64:...` for binary keys */
  readonly secret: string | Buffer;
  /** seconds since epoch; default now */
  readonly created?: number;
  readonly expires?: number;
  /** default: 16 random bytes base64url; false: no nonce */
  readonly nonce?: string | false;
  /** covered components; default @method @target-uri, plus content-digest when there is a body */
  readonly components?: readonly string[];
  readonly label?: string;
  /** digest algorithm for Content-Digest; false: none added */
  readonly digest?: DigestAlg | false;
  /** add `alg="hmac-sha256"` */
  readonly includeAlg?: boolean;
  readonly tag?: string;
}

export interface SignedHeaders {
  readonly 'content-digest'?: string;
  readonly 'signature-input': string;
  readonly signature: string;
  [name: string]: string | undefined;
}

/** A MessageView over a URL and a header record. */
export function messageViewFor(method: string, url: URL, headers: Readonly<Record<string, string>>): MessageView {
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(headers)) lower.set(k.toLowerCase(), v);
  return {
    method: method.toUpperCase(),
    scheme: url.protocol.replace(/:$/, ''),
    authority: url.host,
    path: url.pathname,
    // a bare '?' has an empty `search`, and fetch/undici/node:http send the target without it
    query: url.search === '' ? null : url.search.slice(1),
    fieldValues: (name) => {
      const v = lower.get(name);
      return v === undefined ? [] : [v];
    },
  };
}

/** Signs a request; returns the headers to add (Content-Digest when there is a body). */
export function signRequest(o: SignOptions): SignedHeaders {
  const url = typeof o.url === 'string' ? new URL(o.url) : o.url;
  const body = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body);
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  const out: Record<string, string> = {};
  const hasBody = body !== undefined && body.length > 0;
  if (hasBody && o.digest !== false) {
    out['content-digest'] = contentDigest(body, o.digest === undefined ? 'sha-256' : o.digest);
    headers['content-digest'] = out['content-digest'];
  }
  const components = o.components ?? (hasBody && o.digest !== false ? ['@method', '@target-uri', 'content-digest'] : ['@method', '@target-uri']);
  const params = new Map<string, BareItem>();
  params.set('created', sfInt(o.created ?? Math.floor(Date.now() / 1000)));
  if (o.expires !== undefined) params.set('expires', sfInt(o.expires));
  const nonce = o.nonce === undefined ? randomBytes(16).toString('base64url') : o.nonce;
  if (nonce !== false) params.set('nonce', sfString(nonce));
  if (o.includeAlg === true) params.set('alg', sfString('hmac-sha256'));
  params.set('keyid', sfString(o.keyId));
  if (o.tag !== undefined) params.set('tag', sfString(o.tag));
  const list: InnerList = { kind: 'list', items: components.map((c) => sfItem(sfString(c))), params };
  const base = signatureBase(messageViewFor(o.method, url, headers), list);
  const mac = createHmac('sha256', secretBytes(o.secret)).update(base, 'utf8').digest();
  const label = o.label ?? 'sig1';
  const input = base.slice(base.lastIndexOf('"@signature-params": ') + '"@signature-params": '.length);
  out['signature-input'] = `${label}=${input}`;
  out['signature'] = `${label}=:${mac.toString('base64')}:`;
  return out as SignedHeaders;
}
