/** What the admin API handlers share: the token check, the actor of an action, JSON in and out. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { CanonicalConfig } from '../core/config.js';
import { writeProblem } from '../core/problem.js';
import { adminIdentity, adminPolicy, tenantScope, type AdminIdentity } from './access.js';
import { forbidTenant, refuseAdmin } from './server.js';

export { forbidTenant };

/** Most bytes of an admin request body. */
const MAX_BODY = 16 * 1024;

export type Access = 'read' | 'write';

/**
 * Who may make this request, or null when a refusal was written: 401 without a valid token; 403
 * for a write when no admin.token is configured; 403 for a tenant token unless the handler serves
 * tenant tokens (`tenants: true`: it then scopes what it reads and does to `identity.tenant`, with
 * `tenantScope`). Without admin.token, reads get the full identity (the listener is loopback).
 */
export function authorize(
  req: IncomingMessage,
  res: ServerResponse,
  config: CanonicalConfig,
  access: Access,
  opts: { tenants?: boolean } = {},
): AdminIdentity | null {
  const policy = adminPolicy(config.admin);
  if (policy.token === null) {
    if (access === 'read') return { kind: 'full' };
    writeProblem(res, 'PC_ERR_FORBIDDEN', 403, randomUUID(), null, 'Admin write actions need admin.token to be configured.');
    return null;
  }
  const who = adminIdentity(policy, req.headers.authorization);
  if (who === null) {
    refuseAdmin(res);
    return null;
  }
  if (who.kind === 'tenant' && opts.tenants !== true) {
    forbidTenant(res);
    return null;
  }
  return who;
}

/** What a read that serves tenant tokens covers: one tenant's data, or (`tenant` null) every tenant's. */
export interface TenantView {
  readonly tenant: string | null;
  /** who asks: the full token (with or without `?tenant=`), or a tenant's token */
  readonly identity: AdminIdentity;
}

/**
 * A read that serves tenant tokens: `authorize(..., 'read', { tenants: true })`, then the tenant it
 * is scoped to by `tenantScope` (a tenant token: its own; the full token: `?tenant=` or every
 * tenant); null when a refusal (401, or 403 for another tenant) was written.
 */
export function authorizeTenantRead(req: IncomingMessage, res: ServerResponse, config: CanonicalConfig, query: URLSearchParams): TenantView | null {
  const who = authorize(req, res, config, 'read', { tenants: true });
  if (who === null) return null;
  const tenant = tenantScope(who, query.get('tenant'));
  if (tenant === 'forbidden') {
    forbidTenant(res);
    return null;
  }
  return { tenant, identity: who };
}

/** Who made an admin action, for the audit log: `X-Portcullis-Actor` (or the kind of token) and the peer address; a tenant token's tenant in brackets. */
export function actor(req: IncomingMessage, who: AdminIdentity = { kind: 'full' }): string {
  const raw = req.headers['x-portcullis-actor'];
  const name = typeof raw === 'string' ? raw.replace(/[^A-Za-z0-9_.@:-]/g, '').slice(0, 64) : '';
  const tenant = who.kind === 'tenant' ? `[tenant:${who.tenant}]` : '';
  return `${name || (who.kind === 'tenant' ? 'tenant-token' : 'admin-token')}${tenant}@${req.socket.remoteAddress ?? '?'}`;
}

export function json(res: ServerResponse, status: number, body: unknown, headers?: Readonly<Record<string, string>>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw new Error('body too large');
    chunks.push(c);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

export function splitUrl(req: IncomingMessage): { path: string; query: URLSearchParams } {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return { path: q < 0 ? url : url.slice(0, q), query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)) };
}

/** 405 with Allow: the admin endpoint does not answer this method. */
export function methodNotAllowed(res: ServerResponse, allow: string): true {
  res.setHeader('allow', allow);
  writeProblem(res, 'PC_ERR_METHOD_NOT_ALLOWED', 405, randomUUID(), null);
  return true;
}
