/**
 * The live console on the admin listener:
 *
 *   GET /console, /console/app.js, /console/app.css   the page (static files, no data: served without the token)
 *   GET /admin/live                                   the live view now (JSON)
 *   GET /admin/live/stream                            the same every second, as Server-Sent Events
 *   GET /admin/refusals?q=&limit=                     recent refusals, newest first, searched
 *   GET /admin/refusals/{request id}                  one refusal's whole decision
 *
 * Bans and alerts come from the admin API of src/admin/bans.ts. Every console response carries a
 * strict Content-Security-Policy (CSP below): the page runs its own script and style only, talks
 * only to this listener, and cannot be framed. The data endpoints need the admin token as the rest
 * of the admin API; what they show is filtered by one `tenant` (null: everything): a tenant-scoped
 * token (`admin.tenant_tokens`) sees its own tenant only (`scopeOf` decides, with the bans API's
 * rules), and another tenant's refusal is not found (404: its existence is not told either).
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Services } from '../../core/services.js';
import type { CanonicalConfig } from '../../core/config.js';
import { writeProblem } from '../../core/problem.js';
import { liveFor, LIVE_SECONDS, MAX_REFUSALS } from '../../observe/live.js';
import { alertsFor, type ActiveAlert } from '../../observe/alerts.js';
import { authorizeTenantRead, json, methodNotAllowed, splitUrl, type TenantView } from '../http.js';

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Headers of every console response: the CSP and the usual hardening of a page. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Live streams open at once per gateway; more are refused with 503 (each costs a JSON snapshot a second). */
export const MAX_STREAMS = 16;
/** Bytes a stream may have waiting for a slow reader before it is closed. */
const MAX_BUFFERED = 1024 * 1024;
/** A heartbeat comment every this many snapshots. */
const HEARTBEAT_EVERY = 15;

/**
 * Static files, read from the source tree (`src/admin/console/static/`, shipped in the package) the
 * first time they are asked for. Why files and not strings in TypeScript: the page's script and
 * style are linted and formatted as what they are, and nothing has to be built or copied.
 */
const STATIC_DIR = new URL('../../../../src/admin/console/static/', import.meta.url);
const ASSETS: Readonly<Record<string, { readonly file: string; readonly type: string }>> = {
  '/console': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/console/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};
const loaded = new Map<string, Buffer>();

function asset(file: string): Buffer {
  let b = loaded.get(file);
  if (b === undefined) {
    b = readFileSync(new URL(file, STATIC_DIR));
    loaded.set(file, b);
  }
  return b;
}

/** Who reads the console's data: `tenant` null for the whole gateway, or one tenant's name. */
export type ConsoleScope = TenantView;

/**
 * The scope of a data request, or null when a refusal was written: the full token sees every
 * tenant (or the one `?tenant=` names), a tenant token (`admin.tenant_tokens`) its own tenant's
 * view only, and 403 when it names another (the rules of the bans API: src/admin/http.ts).
 */
export function scopeOf(req: IncomingMessage, res: ServerResponse, config: CanonicalConfig): ConsoleScope | null {
  return authorizeTenantRead(req, res, config, splitUrl(req).query);
}

/** GET /console and its files. */
export async function handleConsoleAsset(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const { path } = splitUrl(req);
  const a = ASSETS[path];
  if (a === undefined) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
  const body = asset(a.file);
  res.writeHead(200, { ...CONSOLE_HEADERS, 'content-type': a.type, 'content-length': body.length, 'cache-control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
  return Promise.resolve(true);
}

/** The alerts a scope sees: all of them, or those of its tenant. */
function alertsIn(services: Services, scope: ConsoleScope): ActiveAlert[] {
  const all = alertsFor(services).active();
  // `scope.tenant`: a rule of one tenant, or a `by: tenant` series (as /admin/alerts filters)
  return scope.tenant === null ? all : all.filter((a) => a.scope.tenant === scope.tenant);
}

/** The live view and the alerts of a scope, as JSON text; made once per second and scope, whatever the number of readers. */
function liveText(services: Services, scope: ConsoleScope, seconds: number): string {
  const now = services.clock();
  const cache = services.keep('admin.console.live', () => ({ second: -1, texts: new Map<string, string>() }));
  const sec = Math.floor(now / 1000);
  if (cache.second !== sec) {
    cache.second = sec;
    cache.texts.clear();
  }
  const key = `${seconds}:${scope.tenant ?? ''}`;
  let text = cache.texts.get(key);
  if (text === undefined) {
    text = JSON.stringify({ ...liveFor(services).snapshot(now, scope.tenant, seconds), alerts: alertsIn(services, scope) });
    if (cache.texts.size < 64) cache.texts.set(key, text);
  }
  return text;
}

function secondsOf(query: URLSearchParams): number {
  const n = Number(query.get('seconds') ?? LIVE_SECONDS);
  return Number.isInteger(n) && n >= 10 && n <= LIVE_SECONDS ? n : LIVE_SECONDS;
}

/** GET /admin/live and /admin/live/stream. */
export async function handleLiveRequest(req: IncomingMessage, res: ServerResponse, services: Services, config: CanonicalConfig): Promise<boolean> {
  const { path, query } = splitUrl(req);
  if (path !== '/admin/live' && path !== '/admin/live/stream') return false;
  if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
  const scope = scopeOf(req, res, config);
  if (scope === null) return true;
  const seconds = secondsOf(query);
  if (path === '/admin/live') {
    const text = liveText(services, scope, seconds);
    res.writeHead(200, { ...CONSOLE_HEADERS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
    return true;
  }
  stream(res, services, scope, seconds);
  return true;
}

/**
 * Server-Sent Events: `event: snapshot` with the live view every second, a heartbeat comment, and
 * `event: reload` then the end when a new config is in force (the client reconnects, and its token
 * is checked against the new config). Bounded: MAX_STREAMS at once, MAX_BUFFERED bytes unread.
 */
function stream(res: ServerResponse, services: Services, scope: ConsoleScope, seconds: number): void {
  const streams = services.keep('admin.console.streams', () => ({ open: 0 }));
  if (streams.open >= MAX_STREAMS) {
    writeProblem(res, 'PC_ERR_UNAVAILABLE', 503, randomUUID(), { 'retry-after': '5' }, `At most ${MAX_STREAMS} live streams are served at once.`);
    return;
  }
  streams.open++;
  const view = liveFor(services);
  const generation = view.generation;
  res.writeHead(200, { ...CONSOLE_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  res.write('retry: 2000\n\n');
  let ticks = 0;
  const tick = (): void => {
    if (res.destroyed || res.writableEnded) return;
    if (view.generation !== generation) {
      res.end('event: reload\ndata: {}\n\n');
      return;
    }
    if (res.writableLength > MAX_BUFFERED) {
      res.destroy();
      return;
    }
    res.write(`event: snapshot\ndata: ${liveText(services, scope, seconds)}\n\n`);
    if (++ticks % HEARTBEAT_EVERY === 0) res.write(': heartbeat\n\n');
  };
  const timer = setInterval(tick, 1000);
  timer.unref();
  res.on('close', () => {
    clearInterval(timer);
    streams.open--;
  });
  tick();
}

/** GET /admin/refusals?q=&limit= and /admin/refusals/{request id}. */
export async function handleRefusalsRequest(req: IncomingMessage, res: ServerResponse, services: Services, config: CanonicalConfig): Promise<boolean> {
  const { path, query } = splitUrl(req);
  if (path !== '/admin/refusals' && !path.startsWith('/admin/refusals/')) return false;
  if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
  const scope = scopeOf(req, res, config);
  if (scope === null) return true;
  const view = liveFor(services);
  if (path === '/admin/refusals') {
    const limit = Math.min(MAX_REFUSALS, Math.max(1, Number(query.get('limit') ?? '50') || 50));
    json(res, 200, { refusals: view.search(query.get('q') ?? '', limit, scope.tenant) }, CONSOLE_HEADERS);
    return true;
  }
  let id: string;
  try {
    id = decodeURIComponent(path.slice('/admin/refusals/'.length));
  } catch {
    id = '';
  }
  const r = id.length > 0 && id.length <= 128 ? view.refusalById(id, scope.tenant) : null;
  if (r === null) {
    writeProblem(res, 'PC_ERR_ROUTE_NOT_FOUND', 404, randomUUID(), null, 'No recent refusal has this request id.');
    return true;
  }
  json(res, 200, r, CONSOLE_HEADERS);
  return true;
}

/** The admin handlers of the live console. */
export const CONSOLE_ADMIN_HANDLERS = [handleConsoleAsset, handleLiveRequest, handleRefusalsRequest] as const;
