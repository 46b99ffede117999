/**
 * POST /admin/cache/purge: removes stored responses from the response cache, by exact URL (every
 * partition and variant), by URL prefix or by tag (the `cache.tag_header` values of stored
 * responses). With the Redis store the entries are shared, so a purge on one instance holds on
 * every instance at once. Needs the admin token; each purge is an audit event.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Services } from '../core/services.js';
import type { CanonicalConfig } from '../core/config.js';
import { writeProblem } from '../core/problem.js';
import { type GlobalCache, sharedFor, URL_TAG } from '../stages/cache/index.js';
import { actor, authorize, json, methodNotAllowed, readJson, splitUrl } from './http.js';

/** Most characters of a URL, prefix or tag to purge. */
const MAX_VALUE = 2048;

type Purge = { readonly kind: 'url' | 'prefix' | 'tag'; readonly value: string };

/** The one purge a request body asks for, or why it is not one. */
export function purgeOf(body: unknown): Purge | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'the body must be a JSON object';
  const keys = Object.keys(body);
  if (keys.length !== 1 || !['url', 'prefix', 'tag'].includes(keys[0] as string)) return 'give exactly one of url, prefix or tag';
  const kind = keys[0] as Purge['kind'];
  const value = (body as Record<string, unknown>)[kind];
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE) return `${kind} must be a string of 1 to ${MAX_VALUE} characters`;
  if (kind !== 'tag' && (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || !value.includes('/')))
    return `${kind} is a host and path as the cache names them, e.g. api.example.com/items/1 (no scheme)`;
  return { kind, value };
}

export async function handleCachePurge(req: IncomingMessage, res: ServerResponse, services: Services, config: CanonicalConfig): Promise<boolean> {
  const { path } = splitUrl(req);
  if (path !== '/admin/cache/purge') return false;
  if (req.method !== 'POST') {
    return methodNotAllowed(res, 'POST');
  }
  if (!authorize(req, res, config, 'write')) return true;
  if (!config.routes.some((r) => r['cache'] !== undefined && r['cache'] !== 'off')) {
    writeProblem(res, 'PC_ERR_ROUTE_NOT_FOUND', 404, randomUUID(), null, 'No route caches responses.');
    return true;
  }
  let body: unknown;
  try {
    body = await readJson(req);
  } catch {
    writeProblem(res, 'PC_ERR_BAD_REQUEST', 400, randomUUID(), null, 'The body must be JSON of at most 16 KiB.');
    return true;
  }
  const p = purgeOf(body);
  if (typeof p === 'string') {
    writeProblem(res, 'PC_ERR_BAD_REQUEST', 400, randomUUID(), null, p);
    return true;
  }
  const store = sharedFor(services, config['cache'] as GlobalCache, config.state.redis.key_prefix).store;
  let purged: number;
  try {
    purged = p.kind === 'prefix' ? await store.purgePrefix(p.value) : await store.purgeTag(p.kind === 'url' ? URL_TAG + p.value : p.value);
  } catch (e) {
    services.logger.error({ event: 'cache_purge_failed', kind: p.kind, err: e instanceof Error ? e.message : String(e) });
    writeProblem(res, 'PC_ERR_UNAVAILABLE', 503, randomUUID(), null, 'The cache store did not answer; nothing is known to be purged.');
    return true;
  }
  services.audit('admin_cache_purged', { by: actor(req), kind: p.kind, value: p.value, purged });
  json(res, 200, { purged, [p.kind]: p.value });
  return true;
}

/** The admin handlers of the response cache. */
export const CACHE_ADMIN_HANDLERS = [handleCachePurge] as const;
