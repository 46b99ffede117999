/**
 * OpenAPI security requirements → the auth stage's route section (src/stages/auth/types.ts).
 * The list is OR (any requirement object satisfies), each object is AND (every scheme in it):
 *   http bearer          → jwt { provider, scopes }
 *   oauth2/openIdConnect → jwt { provider, scopes } (the required scopes)
 *   apiKey               → api_key {}
 *   mutualTLS            → mtls {}
 * `security: []` or an empty requirement `{}` among the alternatives → `auth: none` (public).
 * No `security` anywhere → null: the route keeps the gateway's default (authentication required).
 * The JWT provider is the scheme's `x-portcullis-provider`, else the API's default provider.
 * Pure.
 */
import type { SecurityRequirement, SecuritySchemeObject } from './types.js';

export interface JwtRequirement {
  provider?: string;
  scopes?: string[];
}

export type AuthRequirementSet = {
  jwt?: JwtRequirement;
  api_key?: Record<string, never>;
  mtls?: Record<string, never>;
};

export type AuthSection = 'none' | { any_of: AuthRequirementSet[] };

export type SecurityMapResult = { readonly ok: true; readonly auth: AuthSection | null } | { readonly ok: false; readonly reason: string };

export function mapSecurity(
  requirements: readonly SecurityRequirement[] | null,
  schemes: Readonly<Record<string, unknown>>,
  defaultProvider: string | null,
): SecurityMapResult {
  if (requirements === null) return { ok: true, auth: null };
  if (requirements.length === 0) return { ok: true, auth: 'none' };
  const anyOf: AuthRequirementSet[] = [];
  for (const req of requirements) {
    const names = Object.keys(req);
    if (names.length === 0) return { ok: true, auth: 'none' };
    const set: AuthRequirementSet = {};
    for (const name of names) {
      const scheme = schemes[name] as SecuritySchemeObject | undefined;
      if (scheme === undefined || scheme === null || typeof scheme !== 'object') {
        return { ok: false, reason: `security scheme '${name}' is not defined in components.securitySchemes` };
      }
      // documents are not schema-checked: every value is read as what it must be, or refused
      const listed: unknown = req[name] ?? [];
      if (!Array.isArray(listed) || !listed.every((x) => typeof x === 'string')) {
        return { ok: false, reason: `security requirement '${name}': the scopes must be a list of strings` };
      }
      const scopes = [...(listed as string[])];
      switch (scheme.type) {
        case 'http': {
          const httpScheme: unknown = scheme.scheme ?? '';
          if (typeof httpScheme !== 'string' || httpScheme.toLowerCase() !== 'bearer') {
            return { ok: false, reason: `security scheme '${name}': http scheme ${JSON.stringify(httpScheme)} is not supported (bearer only)` };
          }
          const r = addJwt(set, name, scheme, scopes, defaultProvider);
          if (r) return r;
          break;
        }
        case 'oauth2':
        case 'openIdConnect': {
          const r = addJwt(set, name, scheme, scopes, defaultProvider);
          if (r) return r;
          break;
        }
        case 'apiKey':
          set.api_key = {};
          break;
        case 'mutualTLS':
          set.mtls = {};
          break;
        default:
          return { ok: false, reason: `security scheme '${name}': type '${String(scheme.type)}' is not supported` };
      }
    }
    if (!anyOf.some((s) => JSON.stringify(s) === JSON.stringify(set))) anyOf.push(set);
  }
  return { ok: true, auth: { any_of: anyOf } };
}

function addJwt(
  set: AuthRequirementSet,
  name: string,
  scheme: SecuritySchemeObject,
  scopes: string[],
  defaultProvider: string | null,
): SecurityMapResult | null {
  const p = scheme['x-portcullis-provider'];
  if (p !== undefined && typeof p !== 'string') return { ok: false, reason: `security scheme '${name}': x-portcullis-provider must be a string` };
  const provider = p ?? defaultProvider ?? undefined;
  const prev = set.jwt;
  if (prev !== undefined) {
    // AND of two token schemes: one token must satisfy both, so they must name the same provider
    if (prev.provider !== provider) return { ok: false, reason: `security requirement combines JWT schemes of different providers ('${name}')` };
    const merged = [...new Set([...(prev.scopes ?? []), ...scopes])];
    set.jwt = { ...(provider !== undefined ? { provider } : {}), ...(merged.length > 0 ? { scopes: merged } : {}) };
    return null;
  }
  set.jwt = { ...(provider !== undefined ? { provider } : {}), ...(scopes.length > 0 ? { scopes } : {}) };
  return null;
}

/**
 * The query parameters a document's `apiKey` security schemes declare (`in: query`): clients send
 * credentials there, so their values are redacted in logs (src/observe/query-redaction.ts). Pure.
 */
export function apiKeyQueryParams(doc: Readonly<Record<string, unknown>>): string[] {
  const components = doc['components'];
  const schemes = components !== null && typeof components === 'object' ? (components as Record<string, unknown>)['securitySchemes'] : undefined;
  if (schemes === null || typeof schemes !== 'object') return [];
  const out: string[] = [];
  for (const s of Object.values(schemes as Record<string, unknown>)) {
    const scheme = s as SecuritySchemeObject | null;
    if (
      scheme !== null &&
      typeof scheme === 'object' &&
      scheme.type === 'apiKey' &&
      scheme.in === 'query' &&
      typeof scheme.name === 'string' &&
      scheme.name !== ''
    )
      out.push(scheme.name);
  }
  return out;
}
