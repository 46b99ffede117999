/**
 * The posture rules: each a small pure function over the loaded config tree (defaults applied,
 * OpenAPI operations already turned into routes) that reports weaknesses at key paths. The audit
 * (audit.ts) turns a key path into the file:line of the user's file. docs/posture.md lists them.
 */
import { isIP } from 'node:net';
import { keyPathString, type PathSeg } from '../config/errors.js';
import type { CanonicalConfig, RouteConfig } from '../core/config.js';
import { isLoopbackAddress } from '../admin/access.js';
import type { RawString } from './source.js';
import type { RuleMeta, Severity } from './types.js';

/** A route as the rules see it. */
export interface RouteView {
  readonly route: RouteConfig;
  /** `['routes', i]` in the tree (generated routes are mapped back to their `apis` entry by the audit) */
  readonly path: readonly PathSeg[];
  readonly isPublic: boolean;
  /** written in `routes` (false: generated from an OpenAPI document) */
  readonly handWritten: boolean;
  /** an OpenAPI success response of the route's operation is an object or a list of objects */
  readonly returnsObjects: boolean;
}

export interface RuleInput {
  readonly config: CanonicalConfig;
  readonly routes: readonly RouteView[];
  /** string values as written in the file, before `${env:}` / `${file:}` substitution */
  readonly strings: readonly RawString[];
  /** whether a key path is written in the file (not a default) */
  readonly written: (path: readonly PathSeg[]) => boolean;
}

export type Report = (path: readonly PathSeg[], message: string, severity?: Severity) => void;

export interface Rule {
  readonly meta: RuleMeta;
  check(input: RuleInput, report: Report): void;
}

// ---- shared readings of the tree ----------------------------------------------------------------

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const obj = (v: unknown): Record<string, unknown> => (isObj(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const MiB = 1024 * 1024;

interface Limit {
  readonly key: readonly string[];
  readonly phase?: string;
  readonly mode?: string;
}

/** The limits that apply to a route, each with its effective mode. */
function routeLimits(config: CanonicalConfig, route: RouteConfig): { limit: Limit; mode: string }[] {
  const rl = obj(config['rate_limits']);
  const globalMode = typeof rl['mode'] === 'string' ? rl['mode'] : 'enforce';
  const own = route['rate_limit'];
  if (own === 'off') return [];
  const section = isObj(own) ? own : {};
  const ownList = (Array.isArray(own) ? own : arr(section['limits'])) as Limit[];
  const routeMode = typeof section['mode'] === 'string' ? section['mode'] : globalMode;
  const out = ownList.map((limit) => ({ limit, mode: limit.mode ?? routeMode }));
  if (section['global'] !== false) {
    const plans = obj(rl['plans']);
    const defaultPlan = typeof rl['default_plan'] === 'string' ? arr(plans[rl['default_plan']]) : [];
    for (const limit of [...arr(rl['limits']), ...defaultPlan] as Limit[]) out.push({ limit, mode: limit.mode ?? globalMode });
  }
  return out;
}

const PRINCIPAL_PART = /^(consumer|tenant|claim:.*)$/;

function limitPhase(l: Limit): string {
  if (l.phase !== undefined) return l.phase;
  return l.key.includes('ip') && !l.key.some((p) => PRINCIPAL_PART.test(p)) ? 'pre-auth' : 'limits';
}

/** Per-principal limits that exist anywhere (a plan or a tenant bucket counts). */
function hasPrincipalLimits(config: CanonicalConfig): boolean {
  const rl = obj(config['rate_limits']);
  return Object.values(obj(rl['plans'])).some((l) => arr(l).length > 0) || Object.values(obj(rl['tenants'])).some((l) => arr(l).length > 0);
}

function authMode(route: RouteConfig): string | null {
  const a = route['auth'];
  return isObj(a) && typeof a['mode'] === 'string' ? a['mode'] : null;
}

/** The route's own key when written on it, else the route entry. */
function at(view: RouteView, input: RuleInput, ...key: PathSeg[]): readonly PathSeg[] {
  for (let n = key.length; n > 0; n--) {
    const p = [...view.path, ...key.slice(0, n)];
    if (!view.handWritten || input.written(p)) return p;
  }
  return view.path;
}

const REFERENCE = /\$\{(env|file):[^}]+\}/;
const SECRET_KEY = /^(secret|password|token|credentials|api_key|apikey|client_secret)$/i;
const API_KEY_VALUE = /\bpc_[A-Za-z0-9_.:@-]{1,128}_[A-Za-z0-9_-]{43}\b/;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const PRIVATE_JWK_MEMBER = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']);

/** Why a string as written is a secret in the file, or null. */
function inlineSecret(s: RawString): string | null {
  if (REFERENCE.test(s.value) || s.value === '') return null;
  const last = s.path[s.path.length - 1];
  const parent = s.path[s.path.length - 2];
  if (typeof last === 'string' && SECRET_KEY.test(last)) return 'a secret written as a literal value';
  if (last === 'key' && parent === 'checkpoints') return 'the audit checkpoint key written as a literal value';
  if (typeof last === 'string' && PRIVATE_JWK_MEMBER.has(last) && s.path.includes('keys')) return 'private or symmetric JWK material';
  if (API_KEY_VALUE.test(s.value)) return 'a Portcullis API key';
  if (PRIVATE_KEY.test(s.value)) return 'a PEM private key';
  if (/^(redis|rediss):\/\/[^/@]*:[^/@]+@/.test(s.value)) return 'a password in a Redis URL';
  return null;
}

/** The prefix length of a trusted proxy entry (a bare address is a single host), or null. */
function cidrPrefix(entry: string): { family: 4 | 6; prefix: number } | null {
  const [addr = '', bits] = entry.trim().split('/');
  const family = isIP(addr);
  if (family !== 4 && family !== 6) return null;
  const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
  return Number.isInteger(prefix) ? { family, prefix } : null;
}

function loopbackHost(url: string): boolean {
  try {
    return isLoopbackAddress(new URL(url).hostname);
  } catch {
    return false;
  }
}

const BODY_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];

// ---- the rules ----------------------------------------------------------------------------------

export const RULES: readonly Rule[] = [
  {
    meta: {
      id: 'auth.unmarked-public',
      severity: 'high',
      title: 'Route without authentication, not marked public',
      why: 'Anyone can call the route. An `auth: none` written by mistake (or an OpenAPI operation with `security: []`) looks like one meant for everybody.',
      fix: 'Require credentials (`auth: { any_of: [...] }`, or remove `auth` for the default), or mark the route `public: true` when it is open on purpose.',
      owasp: ['API2:2023', 'API5:2023'],
    },
    check(input, report) {
      for (const v of input.routes) {
        if (v.isPublic && v.route.public !== true) report(at(v, input, 'auth'), `route '${v.route.id}' has no authentication and no \`public: true\``);
      }
    },
  },
  {
    meta: {
      id: 'auth.monitor',
      severity: 'high',
      title: 'Authentication in monitor mode',
      why: 'Requests without valid credentials are logged and passed to the upstream: the route is open in practice.',
      fix: 'Set the route’s `auth.mode` to `enforce` once the monitor period is over.',
      owasp: ['API2:2023'],
    },
    check(input, report) {
      for (const v of input.routes) {
        if (authMode(v.route) === 'monitor') report(at(v, input, 'auth', 'mode'), `route '${v.route.id}' authenticates in monitor mode`);
      }
    },
  },
  {
    meta: {
      id: 'auth.credentials-in-query',
      severity: 'medium',
      title: 'Credentials accepted in the query string',
      why: 'URLs end up in access logs, proxies, browser history and Referer headers; a token or key there leaks.',
      fix: 'Set `auth.jwt.query_enabled` and `auth.api_keys.query.enabled` to false; send credentials in headers.',
      owasp: ['API2:2023'],
    },
    check(input, report) {
      const auth = obj(input.config['auth']);
      if (obj(auth['jwt'])['query_enabled'] === true) report(['auth', 'jwt', 'query_enabled'], 'JWTs are accepted in the query string');
      if (obj(obj(auth['api_keys'])['query'])['enabled'] === true)
        report(['auth', 'api_keys', 'query', 'enabled'], 'API keys are accepted in the query string');
    },
  },
  {
    meta: {
      id: 'jwt.no-expiry',
      severity: 'high',
      title: 'JWTs without expiry accepted',
      why: 'A token without `exp` is valid forever: a leaked one cannot age out.',
      fix: 'Keep `exp` in the provider’s `required_claims` (the default).',
      owasp: ['API2:2023'],
    },
    check(input, report) {
      for (const [name, p] of Object.entries(obj(obj(obj(input.config['auth'])['jwt'])['providers']))) {
        if (!arr(obj(p)['required_claims']).includes('exp'))
          report(['auth', 'jwt', 'providers', name, 'required_claims'], `provider '${name}' does not require the \`exp\` claim`);
      }
    },
  },
  {
    meta: {
      id: 'jwt.token-lifetime',
      severity: 'medium',
      title: 'Long or unbounded token lifetime',
      why: 'A stolen token is useful for as long as it is accepted; without `max_age_s` only the issuer’s `exp` bounds it.',
      fix: 'Set the provider’s `max_age_s` to the longest lifetime your issuer grants (an hour or less for access tokens).',
      owasp: ['API2:2023'],
    },
    check(input, report) {
      for (const [name, p] of Object.entries(obj(obj(obj(input.config['auth'])['jwt'])['providers']))) {
        const age = obj(p)['max_age_s'];
        const path = ['auth', 'jwt', 'providers', name, 'max_age_s'];
        if (age === 0) report(path, `provider '${name}' sets no largest token age (max_age_s: 0); only \`exp\` bounds a token`, 'low');
        else if (typeof age === 'number' && age > 86400) report(path, `provider '${name}' accepts tokens up to ${age} s old (more than a day)`);
      }
    },
  },
  {
    meta: {
      id: 'auth.clock-skew',
      severity: 'medium',
      title: 'Large clock skew allowed',
      why: 'Every second of skew extends an expired token’s life and a signed request’s replay window.',
      fix: 'Keep `clock_skew_s` (JWT) and `auth.signature.skew_seconds` at 60 s or less; synchronise clocks (NTP) instead.',
      owasp: ['API2:2023'],
    },
    check(input, report) {
      const auth = obj(input.config['auth']);
      for (const [name, p] of Object.entries(obj(obj(auth['jwt'])['providers']))) {
        const skew = obj(p)['clock_skew_s'];
        if (typeof skew === 'number' && skew > 300)
          report(['auth', 'jwt', 'providers', name, 'clock_skew_s'], `provider '${name}' allows ${skew} s of clock skew`);
      }
      const sk = obj(auth['signature'])['skew_seconds'];
      if (typeof sk === 'number' && sk > 300) report(['auth', 'signature', 'skew_seconds'], `signatures may be ${sk} s old or early`);
    },
  },
  {
    meta: {
      id: 'signature.no-replay',
      severity: 'high',
      title: 'Signed requests without replay protection',
      why: 'Without a required nonce, a captured signed request can be sent again, unchanged, for as long as its signature is fresh.',
      fix: 'Keep `auth.signature.nonce.required: true` (the default) and have clients send a `nonce` parameter.',
      owasp: ['API2:2023'],
    },
    check(input, report) {
      const used =
        arr(input.config['consumers']).some((c) => arr(obj(obj(c)['credentials'])['signature_keys']).length > 0) ||
        input.routes.some((v) => arr(obj(v.route['auth'])['any_of']).some((s) => isObj(s) && 'signature' in s));
      if (used && obj(obj(obj(input.config['auth'])['signature'])['nonce'])['required'] === false)
        report(['auth', 'signature', 'nonce', 'required'], 'signatures are accepted without a nonce');
    },
  },
  {
    meta: {
      id: 'secrets.inline',
      severity: 'high',
      title: 'Secret written in the config file',
      why: 'Config files are committed, copied and shared; a secret in one leaks with it and cannot be rotated apart from it.',
      fix: 'Reference the secret instead: `${env:NAME}` or `${file:/run/secrets/NAME}`.',
      owasp: ['API2:2023', 'API8:2023'],
    },
    check(input, report) {
      for (const s of input.strings) {
        const what = inlineSecret(s);
        // the value itself is never printed: it is a secret
        if (what !== null) report(s.path, `${keyPathString(s.path)}: ${what} (${s.value.length} characters)`);
      }
    },
  },
  {
    meta: {
      id: 'limits.none',
      severity: 'high',
      title: 'Route without any rate limit',
      why: 'Nothing bounds how often a client may call: credential stuffing, scraping and resource exhaustion go unchecked.',
      fix: 'Add a per-IP limit that runs before authentication (`key: [ip]`) in `rate_limits.limits` or on the route, and a per-consumer one after it.',
      owasp: ['API4:2023', 'API6:2023'],
    },
    check(input, report) {
      for (const v of input.routes) {
        const limits = routeLimits(input.config, v.route);
        if (limits.length === 0) report(at(v, input, 'rate_limit'), `route '${v.route.id}' has no rate limit`);
      }
    },
  },
  {
    meta: {
      id: 'limits.not-enforced',
      severity: 'medium',
      title: 'Rate limits in monitor or off mode',
      why: 'Limits that only log let every request through.',
      fix: 'Set `rate_limits.mode` (and any route or limit `mode`) to `enforce`.',
      owasp: ['API4:2023', 'API6:2023'],
    },
    check(input, report) {
      const mode = obj(input.config['rate_limits'])['mode'];
      if (mode !== undefined && mode !== 'enforce') report(['rate_limits', 'mode'], `rate limits default to mode '${String(mode)}'`);
      for (const v of input.routes) {
        const limits = routeLimits(input.config, v.route);
        if (limits.length > 0 && limits.every((l) => l.mode !== 'enforce') && mode === 'enforce')
          report(at(v, input, 'rate_limit', 'mode'), `no rate limit of route '${v.route.id}' is enforced`);
      }
    },
  },
  {
    meta: {
      id: 'limits.no-ip-pre-auth',
      severity: 'medium',
      title: 'No per-IP limit before authentication',
      why: 'Authentication itself costs work and answers guesses: without a per-IP limit in the pre-auth phase, password and token guessing is unbounded.',
      fix: 'Add a limit keyed by `ip` (it runs in the pre-auth phase), e.g. `{ name: per-ip, key: [ip], rate: "20/s" }`.',
      owasp: ['API4:2023', 'API2:2023'],
    },
    check(input, report) {
      for (const v of input.routes) {
        const enforced = routeLimits(input.config, v.route).filter((l) => l.mode === 'enforce');
        if (enforced.length === 0) continue;
        if (!enforced.some((l) => limitPhase(l.limit) === 'pre-auth' && l.limit.key.includes('ip')))
          report(at(v, input, 'rate_limit'), `route '${v.route.id}' has no per-IP limit before authentication`);
      }
    },
  },
  {
    meta: {
      id: 'limits.no-per-consumer',
      severity: 'medium',
      title: 'No per-consumer limit after authentication',
      why: 'A per-IP limit does not follow a credential: one consumer spread over many addresses (or many consumers behind one NAT) is not limited fairly.',
      fix: 'Add a limit keyed by `consumer` (or `tenant`, or a plan in `rate_limits.plans`), which runs after authentication.',
      owasp: ['API4:2023', 'API6:2023'],
    },
    check(input, report) {
      if (hasPrincipalLimits(input.config)) return;
      for (const v of input.routes) {
        if (v.isPublic) continue;
        const enforced = routeLimits(input.config, v.route).filter((l) => l.mode === 'enforce');
        if (enforced.length === 0 || enforced.some((l) => l.limit.key.some((p) => PRINCIPAL_PART.test(p)))) continue;
        // with a per-IP limit in place, the gap is narrower
        const ip = enforced.some((l) => l.limit.key.includes('ip'));
        report(at(v, input, 'rate_limit'), `authenticated route '${v.route.id}' has no per-consumer limit`, ip ? 'low' : 'medium');
      }
    },
  },
  {
    meta: {
      id: 'limits.size-large',
      severity: 'medium',
      title: 'Size limit raised far above the default',
      why: 'Size limits bound memory and CPU per request; very large ones let a few clients exhaust the gateway or the upstream.',
      fix: 'Keep the defaults, and raise a limit only on the route that needs it (`max_body_bytes` on an upload route).',
      owasp: ['API4:2023'],
    },
    check(input, report) {
      const c = input.config;
      const over = (path: PathSeg[], value: unknown, max: number, what: string): void => {
        if (typeof value === 'number' && value > max) report(path, `${what} is ${value} (above ${max})`);
      };
      over(['limits', 'max_body_bytes'], c.limits.max_body_bytes, 10 * MiB, 'the body limit');
      over(['limits', 'max_query_params'], c.limits.max_query_params, 1000, 'the query parameter limit');
      over(['limits', 'body', 'json', 'max_depth'], c.limits.body.json.max_depth, 128, 'the JSON depth limit');
      over(['limits', 'body', 'json', 'max_string_length'], c.limits.body.json.max_string_length, 10 * MiB, 'the JSON string limit');
      over(['limits', 'body', 'max_decompression_ratio'], c.limits.body.max_decompression_ratio, 1000, 'the decompression ratio');
      c.listeners.forEach((l, i) => {
        over(['listeners', i, 'max_header_bytes'], l.max_header_bytes, 64 * 1024, `listener ${i}'s header limit`);
        over(['listeners', i, 'max_url_bytes'], l.max_url_bytes, 64 * 1024, `listener ${i}'s URL limit`);
      });
      for (const v of input.routes) over(at(v, input, 'max_body_bytes') as PathSeg[], v.route.max_body_bytes, 10 * MiB, `route '${v.route.id}' body limit`);
    },
  },
  {
    meta: {
      id: 'validate.no-schema',
      severity: 'medium',
      title: 'Route without request validation',
      why: 'A hand-written route forwards any parameters and body its size limits allow: the upstream parses input nobody checked.',
      fix: 'Describe the API in OpenAPI and bring it in with `apis` (every operation becomes a validated route).',
      owasp: ['API4:2023', 'API8:2023'],
    },
    check(input, report) {
      for (const v of input.routes) {
        if (!v.handWritten || typeof obj(v.route['validate'])['api'] === 'string') continue;
        const methods = v.route.match.methods;
        const body = methods === undefined || methods.some((m) => BODY_METHODS.includes(m));
        report(v.path, `route '${v.route.id}' is not validated against a schema`, body ? 'medium' : 'low');
      }
    },
  },
  {
    meta: {
      id: 'validate.request-not-enforced',
      severity: 'medium',
      title: 'Request validation off or in monitor mode',
      why: 'Invalid requests (wrong types, unknown fields, oversized values) reach the upstream.',
      fix: 'Set `validate.mode: enforce` (the default) on the API or the route.',
      owasp: ['API4:2023', 'API8:2023'],
    },
    check(input, report) {
      for (const v of input.routes) {
        const val = obj(v.route['validate']);
        if (typeof val['api'] === 'string' && val['mode'] !== undefined && val['mode'] !== 'enforce')
          report(at(v, input, 'validate', 'mode'), `route '${v.route.id}' validates requests in mode '${String(val['mode'])}'`);
      }
    },
  },
  {
    meta: {
      id: 'validate.response-off',
      severity: 'medium',
      title: 'Response validation off on a route that returns objects',
      why: 'The upstream’s objects reach clients as they are: properties it should not expose (internal ids, secrets, other users’ data) leak.',
      fix: 'Set `validate.response: filter` (removes undeclared properties) or `enforce` on the API or the route.',
      owasp: ['API3:2023', 'API10:2023'],
    },
    check(input, report) {
      for (const v of input.routes) {
        const r = obj(v.route['validate'])['response'];
        if (v.returnsObjects && (r === 'off' || r === 'monitor'))
          report(at(v, input, 'validate', 'response'), `route '${v.route.id}' returns objects with response validation '${String(r)}'`);
      }
    },
  },
  {
    meta: {
      id: 'waf.off',
      severity: 'high',
      title: 'WAF off',
      why: 'Injection and traversal payloads (SQL, command, XSS, path) reach the upstream uninspected.',
      fix: 'Set `waf.mode: enforce` (the default); tune false positives with `exclusions` rather than switching the WAF off.',
      owasp: ['API8:2023'],
    },
    check(input, report) {
      const mode = obj(input.config['waf'])['mode'];
      if (mode === 'off') report(['waf', 'mode'], 'the WAF is off for every route that does not override it');
      for (const v of input.routes) {
        const w = v.route['waf'];
        if (w === 'off' || (isObj(w) && w['mode'] === 'off')) report(at(v, input, 'waf'), `the WAF is off on route '${v.route.id}'`);
      }
    },
  },
  {
    meta: {
      id: 'waf.monitor',
      severity: 'medium',
      title: 'WAF in monitor mode',
      why: 'Attacks are logged but reach the upstream.',
      fix: 'Set `waf.mode: enforce` once the false positives seen in monitor mode are tuned away.',
      owasp: ['API8:2023'],
    },
    check(input, report) {
      const waf = obj(input.config['waf']);
      if (waf['mode'] === 'monitor') report(['waf', 'mode'], 'the WAF only monitors, for every route that does not override it');
      for (const v of input.routes) {
        const w = v.route['waf'];
        if (isObj(w) && w['mode'] === 'monitor') report(at(v, input, 'waf', 'mode'), `the WAF only monitors route '${v.route.id}'`);
      }
      if (waf['on_limit'] === 'allow') report(['waf', 'on_limit'], 'requests larger than the inspection limits pass partly uninspected', 'low');
    },
  },
  {
    meta: {
      id: 'admin.exposed',
      severity: 'medium',
      title: 'Admin listener on a non-loopback address',
      why: 'The admin API (bans, cache purge, metrics) is reachable from the network; only the token protects it.',
      fix: 'Bind `admin.address: 127.0.0.1` and reach it through an SSH tunnel or a private network; keep `/metrics` out of `public_paths`.',
      owasp: ['API8:2023', 'API5:2023'],
    },
    check(input, report) {
      const a = input.config.admin;
      if (!a.enabled || isLoopbackAddress(a.address)) return;
      const metrics = a.public_paths.includes('/metrics');
      report(
        ['admin', 'address'],
        `the admin listener binds ${a.address}${metrics ? ' and serves /metrics without the token' : ''}`,
        metrics ? 'high' : 'medium',
      );
    },
  },
  {
    meta: {
      id: 'admin.no-token',
      severity: 'low',
      title: 'Admin listener without a token',
      why: 'Every local process and user can read metrics and the admin API (writes are refused without a token); on a shared host that is everybody on it.',
      fix: 'Set `admin.token: ${env:PORTCULLIS_ADMIN_TOKEN}` (at least 16 characters).',
      owasp: ['API2:2023', 'API5:2023'],
    },
    check(input, report) {
      const a = input.config.admin;
      if (a.enabled && (a.token === undefined || a.token === '')) report(['admin', 'token'], 'the admin listener has no token');
    },
  },
  {
    meta: {
      id: 'listener.plaintext',
      severity: 'high',
      title: 'Listener without TLS beyond loopback',
      why: 'Credentials, tokens and data cross the network in clear text.',
      fix: 'Add `tls: { cert, key }` to the listener, or bind it to loopback behind a TLS-terminating proxy.',
      owasp: ['API8:2023', 'API2:2023'],
    },
    check(input, report) {
      input.config.listeners.forEach((l, i) => {
        if (!l.tls && !isLoopbackAddress(l.address)) report(['listeners', i, 'address'], `listener '${l.name ?? i}' serves plain HTTP on ${l.address}`);
      });
    },
  },
  {
    meta: {
      id: 'audit.off',
      severity: 'medium',
      title: 'No audit log',
      why: 'Config reloads, admin actions and bans leave no tamper-evident record: an incident cannot be reconstructed, nor shown to an auditor.',
      fix: 'Set `audit: { enabled: true, path: ..., checkpoints: { key: ${env:PORTCULLIS_AUDIT_KEY} } }`.',
      owasp: ['API8:2023'],
    },
    check(input, report) {
      if (obj(input.config['audit'])['enabled'] !== true) report(['audit', 'enabled'], 'the audit log is off');
    },
  },
  {
    meta: {
      id: 'proxies.too-broad',
      severity: 'medium',
      title: 'Trusted proxy range too broad',
      why: 'Any address in a trusted range may write X-Forwarded-For: clients there choose their own IP and slip past per-IP limits, bans and allow lists.',
      fix: 'List only your own proxies’ addresses (a /32 or a small private range).',
      owasp: ['API8:2023'],
    },
    check(input, report) {
      input.config.trusted_proxies.forEach((entry, i) => {
        const c = cidrPrefix(entry);
        if (c === null) return;
        if (c.prefix === 0) report(['trusted_proxies', i], `${entry} trusts every address`, 'high');
        else if (c.prefix < (c.family === 4 ? 16 : 48)) report(['trusted_proxies', i], `${entry} trusts a /${c.prefix} network`);
      });
    },
  },
  {
    meta: {
      id: 'upstream.plaintext',
      severity: 'medium',
      title: 'Upstream without TLS beyond loopback',
      why: 'Requests (with forwarded credentials and identity headers) and responses cross the network unencrypted and unauthenticated: whoever is on the path reads or changes them. Portcullis always verifies upstream certificates (there is no switch to turn it off), so plain HTTP is the way upstream TLS is lost.',
      fix: 'Use `https://` targets (certificates are verified against the system CAs, or NODE_EXTRA_CA_CERTS).',
      owasp: ['API10:2023', 'API8:2023'],
    },
    check(input, report) {
      for (const [name, u] of Object.entries(input.config.upstreams)) {
        u.targets.forEach((t, j) => {
          if (t.url.startsWith('http://') && !loopbackHost(t.url))
            report(['upstreams', name, 'targets', j, 'url'], `upstream '${name}' is reached over plain HTTP`);
        });
      }
    },
  },
  {
    meta: {
      id: 'cache.shared-across-principals',
      severity: 'medium',
      title: 'Cache keyed without the consumer on an authenticated route',
      why: 'A response stored for one consumer is served to the other consumers of the same tenant (or key value): one user sees another’s data.',
      fix: 'Include `consumer` in the route’s `cache.key` (the default key is `[tenant, consumer]`).',
      owasp: ['API1:2023', 'API3:2023'],
    },
    check(input, report) {
      for (const v of input.routes) {
        const c = v.route['cache'];
        const key = isObj(c) ? c['key'] : undefined;
        if (!v.isPublic && Array.isArray(key) && !key.includes('consumer'))
          report(at(v, input, 'cache', 'key'), `route '${v.route.id}' caches by [${key.join(', ')}], without the consumer`);
      }
    },
  },
  {
    meta: {
      id: 'inventory.prefix-route',
      severity: 'low',
      title: 'Prefix route forwards undeclared endpoints',
      why: 'Every path under the prefix reaches the upstream, including old, debug and undocumented endpoints nobody listed.',
      fix: 'Bring the API in from its OpenAPI document (`apis`): undeclared operations get 404/405.',
      owasp: ['API9:2023'],
    },
    check(input, report) {
      for (const v of input.routes) {
        if (v.handWritten && v.route.match.prefix !== undefined)
          report([...v.path, 'match', 'prefix'], `route '${v.route.id}' forwards everything under ${v.route.match.prefix}`);
      }
    },
  },
];
