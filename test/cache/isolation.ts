/** The tenant-isolation load of the cache tests: `n` requests per tenant to one URL, `workers` at a time. */
import { Agent, request } from 'undici';

export const ISS = 'https://issuer.test';

/**
 * The config of the cache suites besides listeners, store and upstreams: a JWT provider (HS256,
 * `{{SECRET}}`), consumers alice (tenant A) and bob (tenant B), a public cached route /items and
 * an authenticated cached route /shared.
 */
export const TENANTS_AND_ROUTES = `auth:
  jwt:
    providers:
      main: { issuer: ${ISS}, audiences: [api], algorithms: [HS256], secret: "{{SECRET}}" }
consumers:
  - { id: alice, tenant: A, credentials: { jwt: [{ provider: main, sub: alice }] } }
  - { id: bob, tenant: B, credentials: { jwt: [{ provider: main, sub: bob }] } }
routes:
  - { id: items, match: { prefix: /items }, upstream: up, auth: none, cache: on }
  - { id: shared, match: { prefix: /shared }, upstream: up, cache: on }`;

/** Requests per tenant (the figure; CACHE_ISOLATION_N overrides it for a quicker local run). */
export const ISOLATION_N = Number(process.env.CACHE_ISOLATION_N ?? 10_000);

export interface Tenant {
  readonly name: string;
  /** request headers carrying its credentials */
  readonly headers: Record<string, string>;
}

/**
 * Sends `n` GETs per tenant, interleaved, over `bases` (instances) in turn, and counts the
 * responses that are not 200 or whose body names another tenant (`{"tenant": ...}`).
 */
export async function isolationLoad(
  bases: readonly string[],
  path: string,
  tenants: readonly Tenant[],
  n = ISOLATION_N,
  workers = 16,
): Promise<Record<string, number>> {
  const wrong: Record<string, number> = Object.fromEntries(tenants.map((t) => [t.name, 0]));
  const agent = new Agent({ connections: workers });
  const total = n * tenants.length;
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (let i = next++; i < total; i = next++) {
          const t = tenants[i % tenants.length] as Tenant;
          const base = bases[Math.floor(i / tenants.length) % bases.length] as string;
          const r = await request(`${base}${path}`, { dispatcher: agent, headers: t.headers });
          const body = (await r.body.json()) as { tenant?: string };
          if (r.statusCode !== 200 || body.tenant !== t.name) wrong[t.name] = (wrong[t.name] ?? 0) + 1;
        }
      }),
    );
  } finally {
    await agent.close();
  }
  return wrong;
}
