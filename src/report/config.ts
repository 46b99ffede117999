/** What a report takes from its caller: the period's times, and from a config the access-log file and the tenant of each route and consumer. */
import { resolve } from 'node:path';

export interface ReportConfigSources {
  /** the access log, when written to a file (stdout and stderr are not files to read back) */
  readonly accessLog: string | null;
  /** route id → the tenant that owns it (`tenants[].routes`) */
  readonly routeTenants: Map<string, string>;
  /** consumer id → its tenant (`consumers[].tenant`) */
  readonly consumerTenants: Map<string, string>;
}

/** Reads a checked config tree (the CLI's loaded file, the gateway's config in force); `base` resolves a relative access-log path. Pure. */
export function reportConfigSources(config: Readonly<Record<string, unknown>>, base: string): ReportConfigSources {
  const access = config['access_log'] as { enabled?: boolean; path?: string } | undefined;
  const routeTenants = new Map<string, string>();
  for (const t of (config['tenants'] ?? []) as { id?: unknown; routes?: unknown }[])
    if (typeof t.id === 'string' && Array.isArray(t.routes)) for (const r of t.routes) if (typeof r === 'string') routeTenants.set(r, t.id);
  const consumerTenants = new Map<string, string>();
  for (const x of (config['consumers'] ?? []) as { id?: unknown; tenant?: unknown }[])
    if (typeof x.id === 'string' && typeof x.tenant === 'string') consumerTenants.set(x.id, x.tenant);
  return {
    accessLog:
      access && access.enabled !== false && typeof access.path === 'string' && access.path !== 'stdout' && access.path !== 'stderr'
        ? resolve(base, access.path)
        : null,
    routeTenants,
    consumerTenants,
  };
}

/** An ISO 8601 date or date-time; a date alone is midnight UTC. */
export function parseTime(s: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) return null;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  return Number.isNaN(d.getTime()) ? null : d;
}
