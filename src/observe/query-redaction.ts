/**
 * Which query parameters are secret, and their values replaced by `[REDACTED]` wherever a query
 * reaches a log (the access log, WAF matches). Compiled once per config snapshot from
 * `access_log.redact_query` and the credential parameters the config itself reads from the query
 * (src/config/snapshot.ts), whatever the route.
 *
 * A parameter name is compared as the frameworks behind the gateway could read it, so that no
 * spelling of a secret name keeps its value in clear:
 *   - percent-decoded (repeatedly, bounded: `Access%5FToken`, `%2561ccess_token`), `+` as a
 *     space; the valid `%XX` runs of a name with malformed ones are decoded and the rest kept
 *     (as WHATWG URLSearchParams and Werkzeug do);
 *   - ASCII case-insensitively;
 *   - each part of a name split at characters other than `[A-Za-z0-9_-]` alone (`token[]`,
 *     `password[0]`, `user[password]`, `user.password`, `access_token%`: qs, Rails and PHP read the
 *     first two as `token` and `password`), and with `.`, spaces and `[` read as `_` (PHP reads
 *     `access.token` and `access[token` as `access_token`);
 *   - `&` and `;` both separate parameters (Python's parse_qs before 3.9.2 split on `;`).
 * An entry starting with `*` matches every name ending with the rest (`*token`: `refresh_token`,
 * `authToken`, `X-Amz-Security-Token`).
 */
import type { QueryRedactor } from '../core/record.js';
import { Buffer } from 'node:buffer';

/**
 * `access_log.redact_query`'s default: the credentials that reach URLs (OAuth/OIDC flows, API keys,
 * signed URLs of AWS, Google Cloud and Azure, session ids of Java and PHP apps). Why: the OWASP
 * Logging Cheat Sheet says never to log session ids, access tokens, passwords or keys.
 */
export const DEFAULT_REDACT_QUERY: readonly string[] = [
  // bearer, OAuth and OIDC tokens of any prefix: access_token, refresh_token, id_token, csrf_token, authToken, X-Amz-Security-Token, subject_token
  '*token',
  // client_secret, secret, api_secret
  '*secret',
  // passwords: password, new_password, passwd, pwd, pass, passphrase
  '*password',
  '*passwd',
  'pwd',
  'pass',
  'passphrase',
  // API keys: key (Google), apikey, api_key, x-api-key, subscription-key (Azure), access and private keys
  'key',
  '*apikey',
  '*api_key',
  '*api-key',
  'access_key',
  'secret_key',
  'private_key',
  'subscription-key',
  'subscription_key',
  // session ids: session, sessionid, JSESSIONID (Java), PHPSESSID, sid
  'session',
  'sessionid',
  'session_id',
  'jsessionid',
  'phpsessid',
  'sid',
  // credentials named as such: auth, authorization, credential(s), X-Amz-Credential, X-Goog-Credential
  'auth',
  'authorization',
  '*credential',
  'credentials',
  // assertions and codes that buy a token: jwt, assertion (RFC 7523), client_assertion, SAMLResponse, authorization code, PKCE verifier, device code, CAS ticket
  'jwt',
  '*assertion',
  'samlresponse',
  'code',
  'code_verifier',
  'device_code',
  'ticket',
  // one-time passwords
  'otp',
  'totp',
  'passcode',
  // signatures of signed URLs: signature, sig (Azure SAS), X-Amz-Signature, X-Goog-Signature
  '*signature',
  'sig',
];

/** Most percent-decoding rounds applied to a name (each round only when the last one changed it). */
const MAX_DECODE_ROUNDS = 4;
/** Replaces a secret value. */
export const REDACTED = '[REDACTED]';
/** Characters of a name that make it spelled in some other way than literally. */
const ENCODED = /[%+\u0080-\uffff]/;
/** A name made of name characters only: it has no other reading. */
const PLAIN = /^[a-z0-9_-]*$/;
/** What splits a name into the parts frameworks may read alone (brackets, dots, anything else). */
const PARTS = /[^a-z0-9_-]+/;

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Decodes the valid `%XX` runs of `s` as UTF-8 and keeps malformed `%` sequences as they are. */
function decodeLeniently(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
  }
}

/** A parameter name as frameworks read it: `+` as space, percent-decoded until stable (bounded), lowercase. */
export function canonicalParamName(raw: string): string {
  let n = raw.indexOf('+') >= 0 ? raw.replace(/\+/g, ' ') : raw;
  for (let i = 0; i < MAX_DECODE_ROUNDS && n.indexOf('%') >= 0; i++) {
    const d = decodeLeniently(n);
    if (d === n) break;
    n = d;
  }
  return n.toLowerCase();
}

export class QueryRedaction implements QueryRedactor {
  /** exact names, lowercase */
  private readonly exact: ReadonlySet<string>;
  /** `*` entries without the star, lowercase */
  private readonly suffixes: readonly string[];
  /**
   * Cheap test over a whole raw query: false only when no parameter can be secret. It looks for
   * a secret name (or suffix) between characters that are not name characters, with `_` standing
   * for any of them; a query with a name spelled with percent-encoding, `+` or non-ASCII always
   * goes on to the exact check. Names are mostly plain, so the common query costs one regex test.
   */
  private readonly probe: RegExp | null;

  constructor(entries: Iterable<string>) {
    const exact = new Set<string>();
    const suffixes = new Set<string>();
    for (const e of entries) {
      if (e.startsWith('*')) {
        if (e.length > 1) suffixes.add(e.slice(1).toLowerCase());
      } else if (e !== '') exact.add(e.toLowerCase());
    }
    this.exact = exact;
    this.suffixes = [...suffixes];
    const word = (w: string): string => escapeRe(w).replace(/_/g, '[^a-z0-9-]');
    // one group per kind: written as one alternative per word, the same test took twice as long
    const alts: string[] = [];
    if (exact.size > 0) alts.push(`(?:^|[^a-z0-9_-])(?:${[...exact].map(word).join('|')})(?=[^a-z0-9_-])`);
    if (this.suffixes.length > 0) alts.push(`(?:${this.suffixes.map(word).join('|')})(?=[^a-z0-9_-])`);
    // first: a name (from a part's start to its `=`) spelled with percent-encoding, `+` or non-ASCII
    this.probe = alts.length === 0 ? null : new RegExp(`(?:^|[&;])[^=&;%+\\u0080-\\uffff]*[%+\\u0080-\\uffff]|${alts.join('|')}`, 'i');
  }

  /** Every entry, for diagnostics and tests. */
  get entries(): string[] {
    return [...this.exact, ...this.suffixes.map((s) => `*${s}`)];
  }

  /** Whether values of the parameter named `raw` (as received, still encoded) are secret. */
  isSecretName(raw: string): boolean {
    const n = ENCODED.test(raw) ? canonicalParamName(raw) : raw.toLowerCase();
    if (this.matches(n)) return true;
    if (PLAIN.test(n)) return false;
    if (this.matches(n.replace(/[. []/g, '_'))) return true; // PHP's reading
    for (const p of n.split(PARTS)) if (p !== '' && this.matches(p)) return true;
    return false;
  }

  private matches(n: string): boolean {
    if (this.exact.has(n)) return true;
    for (const s of this.suffixes) if (n.endsWith(s)) return true;
    return false;
  }

  /** The raw query with the value of every secret parameter replaced by `[REDACTED]` (names kept as sent). */
  redact(query: string): string {
    if (query === '' || this.probe === null || !this.probe.test(query)) return query;
    let out = '';
    let changed = false;
    let start = 0;
    const n = query.length;
    while (start <= n) {
      let end = start;
      let eq = -1;
      for (; end < n; end++) {
        const c = query.charCodeAt(end);
        if (c === 0x26 /* & */ || c === 0x3b /* ; */) break;
        if (c === 0x3d /* = */ && eq < 0) eq = end;
      }
      if (eq >= 0 && eq + 1 < end && this.isSecretName(query.slice(start, eq))) {
        out += `${query.slice(start, eq + 1)}${REDACTED}`;
        changed = true;
      } else out += query.slice(start, end);
      if (end < n) out += query[end];
      start = end + 1;
    }
    return changed ? out : query;
  }

  /** Whether the raw query carries a value of a secret parameter. */
  hasSecret(query: string): boolean {
    return this.redact(query) !== query;
  }

  /**
   * Whether a WAF match on `target` may show a secret value: a query or form parameter, or a JSON
   * field on a path, with a secret name (`query:password`, `form:client_secret`,
   * `json:/user/password`), or the request target (`uri`) when the query `query` holds one.
   */
  secretTarget(target: string, query: string): boolean {
    const colon = target.indexOf(':');
    const kind = colon < 0 ? target : target.slice(0, colon);
    const name = colon < 0 ? '' : target.slice(colon + 1);
    switch (kind) {
      case 'uri':
        return this.hasSecret(query);
      case 'query':
      case 'form':
        return this.isSecretName(name);
      case 'json':
        return name.split('/').some((seg) => seg !== '' && this.isSecretName(seg.replace(/~1/g, '/').replace(/~0/g, '~')));
      default:
        return false;
    }
  }
}

/** No parameter is secret. */
export const NO_REDACTION = new QueryRedaction([]);

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/**
 * The query parameters the auth config reads credentials from: `auth.jwt.query` and
 * `auth.api_keys.query.name`, whether or not reading them is enabled (a client may send them
 * anyway: the request is refused, and logged).
 */
export function authQueryParams(config: { readonly [key: string]: unknown }): string[] {
  const auth = obj(config['auth']);
  const names = [str(obj(auth['jwt'])['query']), str(obj(obj(auth['api_keys'])['query'])['name'])];
  return names.filter((n): n is string => n !== null);
}
