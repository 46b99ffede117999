/**
 * Remote keys of one provider: a JWKS URL, or one found by OIDC discovery. Lives across config
 * reloads (Services.keep). The key set is refreshed in the background, refetched when a token
 * names an unknown kid (at most once per `minRefetchMs`), and the last good set is kept when the
 * IdP is down or serves garbage. Only config names URLs: keys named by a token are never fetched.
 */
import { request } from 'undici';
import { keysFromJwks, type VerifyKey } from './keys.js';

const MAX_DOC_BYTES = 1024 * 1024;

export interface RemoteKeySetOptions {
  readonly issuer: string;
  /** explicit JWKS URL; null: OIDC discovery from the issuer */
  readonly jwksUri: string | null;
  readonly timeoutMs: number;
  readonly refreshMs: number;
  readonly minRefetchMs: number;
  readonly onError?: (message: string) => void;
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** https anywhere, plain http on loopback only (tests, local IdPs). */
export function urlAllowed(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname));
  } catch {
    return false;
  }
}

async function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  if (!urlAllowed(url)) throw new Error(`URL not allowed (https, or http on loopback): ${url}`);
  const res = await request(url, {
    method: 'GET',
    headers: { accept: 'application/json, application/jwk-set+json' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.statusCode !== 200) {
    res.body.resume();
    throw new Error(`HTTP ${res.statusCode} from ${url}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_DOC_BYTES) {
      res.body.destroy();
      throw new Error(`document over ${MAX_DOC_BYTES} bytes from ${url}`);
    }
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

export class RemoteKeySet {
  private keys: readonly VerifyKey[] | null = null;
  private jwksUri: string | null;
  private lastAttempt = 0;
  private inFlight: Promise<boolean> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly opts: RemoteKeySetOptions;
  /** fetch count, for tests and metrics */
  fetches = 0;

  constructor(opts: RemoteKeySetOptions) {
    this.opts = opts;
    this.jwksUri = opts.jwksUri;
  }

  /** The current keys, or null before the first successful fetch. */
  current(): readonly VerifyKey[] | null {
    return this.keys;
  }

  /** Loads keys if none are loaded yet; resolves false when the IdP cannot be reached and no keys are known. */
  async ready(): Promise<boolean> {
    if (this.keys !== null) return true;
    if (this.inFlight) return this.inFlight;
    // while the IdP is unreachable and no key was ever loaded, requests do not each cause a fetch
    if (this.lastAttempt > 0 && Date.now() - this.lastAttempt < Math.max(this.opts.minRefetchMs, 1000)) return false;
    return this.refresh();
  }

  /** Refetch because a token names an unknown kid; rate limited. Resolves true when new keys were loaded. */
  async refetchForUnknownKid(now: number): Promise<boolean> {
    if (this.inFlight) return this.inFlight;
    if (now - this.lastAttempt < this.opts.minRefetchMs) return false;
    return this.refresh();
  }

  /** Starts periodic refreshing (idempotent; the timer does not keep the process alive). */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs);
    this.timer.unref();
    if (this.keys === null) void this.refresh();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  refresh(): Promise<boolean> {
    if (this.inFlight) return this.inFlight;
    this.lastAttempt = Date.now();
    this.inFlight = this.load()
      .then(
        (keys) => {
          this.keys = keys;
          return true;
        },
        (e: unknown) => {
          this.opts.onError?.(`keys of ${this.opts.issuer}: ${(e as Error).message}; keeping ${this.keys?.length ?? 0} known keys`);
          return false;
        },
      )
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  private async load(): Promise<VerifyKey[]> {
    this.fetches++;
    if (this.jwksUri === null || this.opts.jwksUri === null) {
      const base = this.opts.issuer.replace(/\/+$/, '');
      const doc = (await fetchJson(`${base}/.well-known/openid-configuration`, this.opts.timeoutMs)) as Record<string, unknown> | null;
      if (doc === null || typeof doc !== 'object') throw new Error('discovery document is not an object');
      if (doc.issuer !== this.opts.issuer) throw new Error('discovery document names another issuer');
      if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
      this.jwksUri = doc.jwks_uri;
    }
    const keys = keysFromJwks(await fetchJson(this.jwksUri, this.opts.timeoutMs));
    if (keys.length === 0) throw new Error('JWKS has no usable signing key');
    return keys;
  }
}
