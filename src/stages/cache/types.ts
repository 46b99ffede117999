/**
 * The response cache's data (RFC 9111, shared cache). One stored response per variant; the
 * variants of one primary key (method + effective URI + partition) differ by the request
 * headers their `Vary` names.
 */

/** Response or request headers: lowercase names, a repeated field as an array (as node:http gives them). */
export type Headers = Readonly<Record<string, string | readonly string[]>>;

/** A stored response, as kept by a CacheStore. */
export interface StoredResponse {
  readonly status: number;
  /** the response headers as stored (hop-by-hop fields and Set-Cookie removed); lowercase names */
  readonly headers: Headers;
  readonly body: Buffer;
  /** ms since the epoch when the request that produced it was sent upstream (RFC 9111 §4.2.3 request_time) */
  readonly requestTime: number;
  /** ms since the epoch when its response head arrived (§4.2.3 response_time) */
  readonly responseTime: number;
  /**
   * The request header values the response's Vary names (lowercase name → the request's
   * normalised value, null when absent), null when the response has no Vary.
   */
  readonly vary: Readonly<Record<string, string | null>> | null;
  /** purge tags (from the configured tag header, e.g. Cache-Tag or Surrogate-Key) */
  readonly tags: readonly string[];
  /** the effective request URI it answers (`host/path?query`), for purge by prefix */
  readonly url: string;
}

/** Store keys: `primary` names the URL and partition; a store may hold several variants under it. */
export interface CacheStore {
  readonly kind: 'memory' | 'redis';
  /** the variants stored under `primary` (none: []), synchronous for memory */
  get(primary: string): readonly StoredResponse[] | Promise<readonly StoredResponse[]>;
  /**
   * Stores `entry` under `primary`, replacing the variant with the same `vary` values; kept for
   * `ttlMs` (the entry's freshness plus how long it may be served stale or revalidated).
   * Entries larger than the store's per-entry cap are not stored.
   */
  put(primary: string, entry: StoredResponse, ttlMs: number): Promise<void> | void;
  /** removes every variant under `primary`; the number removed */
  delete(primary: string): Promise<number> | number;
  /** removes every entry whose `url` starts with `urlPrefix`; the number removed */
  purgePrefix(urlPrefix: string): Promise<number>;
  /** removes every entry carrying `tag`; the number removed */
  purgeTag(tag: string): Promise<number>;
  /**
   * Request coalescing across instances: tries to become the one filler of `primary` for at most
   * `ttlMs` (a stuck holder never blocks the key longer). Resolves to a release function, or null
   * when another holder has it. Memory stores coalesce in-process and always return a release.
   */
  lock(primary: string, ttlMs: number): Promise<(() => Promise<void>) | null>;
  /** bytes and entries held now (memory: exact; redis: what this instance knows, may be 0) */
  stats(): { bytes: number; entries: number };
  close(): Promise<void>;
}
