/**
 * The admin listener (127.0.0.1:9090 by default, separate from traffic): /healthz, /readyz,
 * /metrics (Prometheus), and the admin API handlers registered by other parts (bans, alerts).
 * With `admin.token` set, every path but `admin.public_paths` needs the token (src/admin/access.ts);
 * a tenant token (`admin.tenant_tokens`) sees its tenant's series at /metrics, and the handlers
 * that serve tenant tokens scope the rest (docs/tenants-monitoring.md).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Services } from '../core/services.js';
import type { CanonicalConfig } from '../core/config.js';
import { writeProblem } from '../core/problem.js';
import { StoreUnavailableError } from '../core/state.js';
import { randomUUID } from 'node:crypto';
import { adminIdentity, adminPolicy, asksOtherTenant, decideAdminAccess, metricsView } from './access.js';

/** Returns true when it handled the request. */
export type AdminHandler = (req: http.IncomingMessage, res: http.ServerResponse, services: Services, config: CanonicalConfig) => Promise<boolean>;

export interface AdminHost {
  readonly services: Services;
  config(): CanonicalConfig;
  ready(): boolean;
  handlers(): readonly AdminHandler[];
}

export interface AdminServer {
  port(): number;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** 401 for a request without the admin token (the same for every path: nothing is revealed). */
export function refuseAdmin(res: http.ServerResponse): void {
  writeProblem(res, 'PC_ERR_AUTH_REQUIRED', 401, randomUUID(), { 'www-authenticate': 'Bearer realm="portcullis-admin"' }, 'A valid admin token is required.');
}

/** 403 for a tenant-scoped token asking for what is not its tenant's. */
export function forbidTenant(res: http.ServerResponse): void {
  writeProblem(res, 'PC_ERR_FORBIDDEN', 403, randomUUID(), null, "A tenant token sees and acts on its own tenant's data only.");
}

export async function startAdmin(address: string, port: number, host: AdminHost): Promise<AdminServer> {
  const server = http.createServer({ requestTimeout: 10_000, headersTimeout: 5_000, maxHeaderSize: 16384 }, (req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
      const config = host.config();
      const policy = adminPolicy(config.admin);
      const access = decideAdminAccess(policy, req.method, path, req.headers.authorization);
      if (access === 'denied') return refuseAdmin(res);
      // who asks: handlers scope a tenant token further (http.ts authorize); no path serves one another tenant
      const who = access === 'granted' ? adminIdentity(policy, req.headers.authorization) : null;
      if (asksOtherTenant(who, query)) return forbidTenant(res);
      const read = req.method === 'GET' || req.method === 'HEAD';
      // audit.fail_closed: an admin action is recorded before it is taken, or not taken
      if (
        !read &&
        host.services.auditBefore?.('admin_request', { method: req.method, path, token: who?.kind ?? 'none', peer: req.socket.remoteAddress ?? null }) === false
      ) {
        return writeProblem(
          res,
          'PC_ERR_AUDIT_UNAVAILABLE',
          503,
          randomUUID(),
          null,
          'The audit log cannot be written; admin write actions are refused until it can.',
        );
      }
      if (read && path === '/healthz') return send(res, 200, 'application/json', '{"status":"ok"}');
      if (read && path === '/readyz') {
        const ok = host.ready();
        return send(res, ok ? 200 : 503, 'application/json', ok ? '{"status":"ready"}' : '{"status":"not ready"}');
      }
      if (read && path === '/metrics') {
        const view = metricsView(who, query.get('tenant'), await host.services.metrics.render());
        return view === 'forbidden' ? forbidTenant(res) : send(res, 200, host.services.metrics.contentType, view);
      }
      for (const h of host.handlers()) if (await h(req, res, host.services, config)) return;
      writeProblem(res, 'PC_ERR_ROUTE_NOT_FOUND', 404, randomUUID(), null);
    })().catch((e: unknown) => {
      host.services.logger.error({ event: 'admin_error', err: e instanceof Error ? e.message : String(e) });
      // the state store down (a ban while Redis is unreachable): 503, as the traffic path answers
      if (!res.headersSent && e instanceof StoreUnavailableError)
        writeProblem(res, 'PC_ERR_UNAVAILABLE', 503, randomUUID(), null, 'The state store is unreachable.');
      else if (!res.headersSent) writeProblem(res, 'PC_ERR_INTERNAL', 500, randomUUID(), null);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: () => (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
