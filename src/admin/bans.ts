/**
 * Admin API of abuse detection and alerting, served on the admin listener (loopback by default):
 *
 *   GET    /admin/bans?tenant=         active bans and throttles (shared through the state store)
 *   POST   /admin/bans                 { client, duration_ms, reason?, kind? }: a manual ban (or throttle)
 *   DELETE /admin/bans/{client}        lift the ban and throttle of a client (URL-encoded)
 *   GET    /admin/alerts               alerts pending or firing, and recent notifications
 *   GET    /admin/events?since=&limit= recent refused or failed exchanges (what the access log shows)
 *
 * With `admin.token` set, every request needs `Authorization: Bearer <token>` (compared in
 * constant time: src/admin/access.ts, checked again here); without a token, reads are served (the
 * listener must then be loopback) and writes are refused. Every write is audited with who made it (`X-Portcullis-Actor`, if given, and
 * the peer address).
 *
 * A tenant token (`admin.tenant_tokens`) sees and acts on its tenant only: it lists the verdicts
 * whose `tenant` is its own, bans and lifts only `consumer:<id>` of a consumer of its tenant
 * (`consumers[].tenant`; an address is shared by every tenant's traffic), sees the alerts and
 * refusals of its tenant, and gets 403 for anything else. A verdict of a consumer carries the
 * consumer's tenant (the configured one, or the principal's when the abuse detectors placed it).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Services } from '../core/services.js';
import type { CanonicalConfig } from '../core/config.js';
import { writeProblem } from '../core/problem.js';
import { actor, authorize, authorizeTenantRead, forbidTenant, json, methodNotAllowed, readJson, splitUrl } from './http.js';
import { engineFor } from '../stages/abuse/index.js';
import { alertsFor } from '../observe/alerts.js';

const MAX_MANUAL_MS = 365 * 24 * 3600 * 1000;

/** The tenant a ban's client key belongs to by the config: a configured consumer's tenant, else null. */
export function clientTenant(config: CanonicalConfig, client: string): string | null {
  if (!client.startsWith('consumer:')) return null;
  const id = client.slice('consumer:'.length);
  const list = Array.isArray(config['consumers']) ? (config['consumers'] as { id: string; tenant?: string }[]) : [];
  return list.find((c) => c.id === id)?.tenant ?? null;
}

/** /admin/bans and /admin/bans/{client}. Returns false when the path is not one of these. */
export async function handleBansRequest(req: IncomingMessage, res: ServerResponse, services: Services, config: CanonicalConfig): Promise<boolean> {
  const { path, query } = splitUrl(req);
  if (path !== '/admin/bans' && !path.startsWith('/admin/bans/')) return false;
  const engine = engineFor(services);
  const now = services.clock();
  const method = req.method ?? 'GET';
  if (path === '/admin/bans') {
    if (method === 'GET') {
      const view = authorizeTenantRead(req, res, config, query);
      if (view === null) return true;
      const { tenant } = view;
      json(res, 200, {
        bans: (await engine.list(now))
          .filter((v) => tenant === null || v.tenant === tenant)
          .map((v) => ({
            ...v,
            until: new Date(v.until).toISOString(),
            since: new Date(v.since).toISOString(),
            remaining_ms: v.until - now,
          })),
      });
      return true;
    }
    if (method === 'POST') {
      const who = authorize(req, res, config, 'write', { tenants: true });
      if (who === null) return true;
      let body: { client?: unknown; duration_ms?: unknown; reason?: unknown; kind?: unknown };
      try {
        body = (await readJson(req)) as typeof body;
      } catch {
        writeProblem(res, 'PC_ERR_BAD_REQUEST', 400, randomUUID(), null, 'Body must be a JSON object of at most 16 KiB.');
        return true;
      }
      const client = typeof body?.client === 'string' ? engine.clientKey(body.client) : null;
      const dur = body?.duration_ms;
      const kind = body?.kind === undefined ? 'ban' : body.kind;
      if (
        client === null ||
        typeof dur !== 'number' ||
        !Number.isInteger(dur) ||
        dur < 1000 ||
        dur > MAX_MANUAL_MS ||
        (kind !== 'ban' && kind !== 'throttle')
      ) {
        writeProblem(
          res,
          'PC_ERR_BAD_REQUEST',
          400,
          randomUUID(),
          null,
          'Expected { client: IP or "consumer:<id>", duration_ms: 1000..31536000000, reason?, kind?: "ban"|"throttle" }.',
        );
        return true;
      }
      const tenant = clientTenant(config, client);
      if (who.kind === 'tenant' && tenant !== who.tenant) return forbidden(res);
      const reason = typeof body.reason === 'string' ? body.reason.slice(0, 200) : 'manual';
      const by = actor(req, who);
      const v = { kind, client, until: now + dur, since: now, reason, source: 'manual', offence: 0, by, tenant } as const;
      await engine.place(v, now);
      services.audit('admin_ban_added', { by, client, kind, duration_ms: dur, reason, ...(tenant !== null ? { tenant } : {}) });
      json(res, 201, { ...v, until: new Date(v.until).toISOString(), since: new Date(v.since).toISOString() });
      return true;
    }
    return methodNotAllowed(res, 'GET, POST');
  }
  if (method !== 'DELETE') {
    return methodNotAllowed(res, 'DELETE');
  }
  const who = authorize(req, res, config, 'write', { tenants: true });
  if (who === null) return true;
  let raw: string;
  try {
    raw = decodeURIComponent(path.slice('/admin/bans/'.length));
  } catch {
    raw = '';
  }
  const client = engine.clientKey(raw);
  if (client === null) {
    writeProblem(res, 'PC_ERR_BAD_REQUEST', 400, randomUUID(), null, 'The path must name an IP address or consumer:<id>.');
    return true;
  }
  if (who.kind === 'tenant') {
    // its own only: every active verdict of the client is its tenant's, or (none active) the consumer is
    const active = await engine.verdictsOf(client, now);
    const own = active.length > 0 ? active.every((v) => v.tenant === who.tenant) : clientTenant(config, client) === who.tenant;
    if (!own) return forbidden(res);
  }
  const by = actor(req, who);
  const lifted = await engine.lift(client, by, now);
  services.audit('admin_ban_lifted', { by, client, found: lifted, ...(who.kind === 'tenant' ? { tenant: who.tenant } : {}) });
  if (!lifted) {
    writeProblem(res, 'PC_ERR_ROUTE_NOT_FOUND', 404, randomUUID(), null, 'No active ban or throttle for this client.');
    return true;
  }
  json(res, 200, { lifted: true, client });
  return true;
}

function forbidden(res: ServerResponse): true {
  forbidTenant(res);
  return true;
}

/** GET /admin/alerts: alerts pending or firing now, and the recent notifications. */
export async function handleAlertsRequest(req: IncomingMessage, res: ServerResponse, services: Services, config: CanonicalConfig): Promise<boolean> {
  const { path, query } = splitUrl(req);
  if (path !== '/admin/alerts') return false;
  if (req.method !== 'GET') {
    return methodNotAllowed(res, 'GET');
  }
  const view = authorizeTenantRead(req, res, config, query);
  if (view === null) return true;
  const { tenant } = view;
  const alerts = alertsFor(services);
  const mine = (a: { scope: { tenant?: string } }): boolean => tenant === null || a.scope.tenant === tenant;
  json(res, 200, { active: alerts.active().filter(mine), recent: alerts.history().filter(mine) });
  return Promise.resolve(true);
}

/** GET /admin/events?since=<ms epoch>&limit=<n>: recent refused or failed exchanges. */
export async function handleEventsRequest(req: IncomingMessage, res: ServerResponse, services: Services, config: CanonicalConfig): Promise<boolean> {
  const { path, query } = splitUrl(req);
  if (path !== '/admin/events') return false;
  if (req.method !== 'GET') {
    return methodNotAllowed(res, 'GET');
  }
  const view = authorizeTenantRead(req, res, config, query);
  if (view === null) return true;
  const { tenant } = view;
  const since = Number(query.get('since') ?? '0');
  const limit = Math.min(1000, Math.max(1, Number(query.get('limit') ?? '200') || 200));
  const recent = engineFor(services).recentDenials(Number.isFinite(since) ? since : 0, tenant === null ? limit : 1000);
  json(res, 200, { denials: tenant === null ? recent : recent.filter((e) => e.tenant === tenant).slice(-limit) });
  return Promise.resolve(true);
}

/** All admin handlers of this module, for `adminHandlers` / `addAdminHandler`. */
export const ABUSE_ADMIN_HANDLERS = [handleBansRequest, handleAlertsRequest, handleEventsRequest] as const;
