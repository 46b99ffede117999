/**
 * CORS decisions (the Fetch standard's CORS protocol, server side): whether an origin is allowed,
 * the answer to a preflight, and the headers of an actual response. Pure and synchronous; the
 * policy is compiled once per route.
 */

export interface CorsSettings {
  readonly mode: 'enforce' | 'monitor' | 'off';
  readonly allow_origins: readonly string[];
  readonly allow_methods: readonly string[];
  readonly allow_headers: readonly string[];
  readonly expose_headers: readonly string[];
  readonly allow_credentials: boolean;
  readonly max_age_s: number;
}

export interface CorsPolicy {
  readonly mode: 'enforce' | 'monitor';
  readonly anyOrigin: boolean;
  readonly origins: ReadonlySet<string>;
  /** `https://*.example.com` as ['https://', '.example.com'] */
  readonly wildcards: readonly (readonly [scheme: string, suffix: string])[];
  readonly methods: ReadonlySet<string>;
  readonly methodsValue: string;
  readonly anyHeader: boolean;
  readonly headers: ReadonlySet<string>;
  readonly exposeValue: string;
  readonly credentials: boolean;
  readonly maxAge: string;
}

/** Why a setting cannot be compiled, or null. */
export function settingsProblem(s: CorsSettings): string | null {
  if (s.allow_credentials && s.allow_origins.includes('*'))
    return "allow_credentials with allow_origins `*` would let any site act with the user's credentials: list the origins";
  for (const o of s.allow_origins) {
    if (o === '*' || o === 'null') continue;
    if (!/^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/.test(o)) return `allow_origins: '${o}' is not an origin (scheme://host[:port], lowercase, no path)`;
  }
  return null;
}

export function compilePolicy(s: CorsSettings): CorsPolicy | null {
  if (s.mode === 'off') return null;
  const origins = new Set<string>();
  const wildcards: [string, string][] = [];
  for (const o of s.allow_origins) {
    const star = o.indexOf('://*.');
    if (star >= 0) wildcards.push([o.slice(0, star + 3), o.slice(star + 4)]);
    else if (o !== '*') origins.add(o);
  }
  const methods = new Set(s.allow_methods.map((m) => m.toUpperCase()));
  return {
    mode: s.mode,
    anyOrigin: s.allow_origins.includes('*'),
    origins,
    wildcards,
    methods,
    methodsValue: [...methods].join(', '),
    anyHeader: s.allow_headers.includes('*'),
    headers: new Set(s.allow_headers.map((h) => h.toLowerCase())),
    exposeValue: s.expose_headers.join(', '),
    credentials: s.allow_credentials,
    maxAge: String(s.max_age_s),
  };
}

/** Whether a request's Origin is allowed (an origin header is ASCII; its host compared lowercase). */
export function originAllowed(p: CorsPolicy, origin: string): boolean {
  if (p.anyOrigin) return origin !== 'null' || p.origins.has('null');
  const o = origin.toLowerCase();
  if (p.origins.has(o)) return true;
  for (const [scheme, suffix] of p.wildcards) {
    // `https://*.example.com` allows `https://a.example.com` and `https://a.b.example.com`, not `https://example.com`
    if (
      o.startsWith(scheme) &&
      o.endsWith(suffix) &&
      o.length > scheme.length + suffix.length &&
      !o.slice(scheme.length, o.length - suffix.length).includes('/')
    )
      return true;
  }
  return false;
}

/** The CORS headers of an actual (non-preflight) response to an allowed origin. */
export function responseHeaders(p: CorsPolicy, origin: string): Record<string, string> {
  const h: Record<string, string> = { 'access-control-allow-origin': p.anyOrigin && !p.credentials ? '*' : origin };
  if (p.credentials) h['access-control-allow-credentials'] = 'true';
  if (p.exposeValue !== '') h['access-control-expose-headers'] = p.exposeValue;
  return h;
}

export type PreflightVerdict = { readonly ok: true; readonly headers: Record<string, string> } | { readonly ok: false; readonly reason: string };

/** The answer to a preflight: the headers of a 204, or why it is refused. */
export function preflight(p: CorsPolicy, origin: string, method: string, requestHeaders: string | undefined): PreflightVerdict {
  if (!originAllowed(p, origin)) return { ok: false, reason: 'origin not allowed' };
  const m = method.toUpperCase();
  if (!p.methods.has(m)) return { ok: false, reason: `method ${m.slice(0, 20)} not allowed` };
  const asked = (requestHeaders ?? '')
    .split(',')
    .map((x) => x.trim().toLowerCase())
    .filter((x) => x !== '');
  if (!p.anyHeader) for (const x of asked) if (!p.headers.has(x)) return { ok: false, reason: `header ${x.slice(0, 40)} not allowed` };
  const h: Record<string, string> = {
    'access-control-allow-origin': p.anyOrigin && !p.credentials ? '*' : origin,
    'access-control-allow-methods': p.methodsValue,
    'access-control-max-age': p.maxAge,
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  };
  if (asked.length > 0) h['access-control-allow-headers'] = asked.join(', ');
  if (p.credentials) h['access-control-allow-credentials'] = 'true';
  return { ok: true, headers: h };
}

/** A Vary value with `Origin` added once ('' when there was none). */
export function varyWithOrigin(vary: string | string[] | undefined): string {
  const v = Array.isArray(vary) ? vary.join(', ') : (vary ?? '');
  if (v.trim() === '*') return '*';
  if (v.split(',').some((x) => x.trim().toLowerCase() === 'origin')) return v;
  return v.trim() === '' ? 'Origin' : `${v}, Origin`;
}
