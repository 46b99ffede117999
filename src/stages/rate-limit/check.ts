/** Cross-key checks of the rate-limit config that a JSON Schema cannot express. */
import type { CanonicalConfig } from '../../core/config.js';
import { ConfigErrors, type ConfigError } from '../../config/errors.js';
import { parseRate } from './decide.js';
import { rateLimitsConfig, routeSection, usesPrincipal, type LimitDef } from './compile.js';
import { configErrorAt } from '../../config/errors.js';

type Path = (string | number)[];

export function checkRateLimits(config: CanonicalConfig, file: string): void {
  const errors: ConfigError[] = [];
  const fail = (path: Path, msg: string): void => {
    errors.push(configErrorAt(file, path, msg));
  };
  const cfg = rateLimitsConfig(config);

  const checkList = (defs: readonly LimitDef[], path: Path, principalScope: boolean): void => {
    const names = new Set<string>();
    defs.forEach((d, i) => {
      const p = [...path, i];
      if (names.has(d.name)) fail([...p, 'name'], `duplicate limit name '${d.name}' (names share state keys)`);
      names.add(d.name);
      if (d.burst !== undefined && d.rate === undefined) fail([...p, 'burst'], '`burst` needs a `rate`');
      if (d.rate !== undefined && parseRate(d.rate) === null) fail([...p, 'rate'], 'rate must be like "25/s", "100/min" or "10/hour"');
      if (d.lease_ms !== undefined && d.concurrency === undefined) fail([...p, 'lease_ms'], '`lease_ms` needs `concurrency`');
      if (d.phase === 'pre-auth' && (principalScope || usesPrincipal(d.key))) {
        fail([...p, 'phase'], 'a limit keyed by consumer, tenant or claim, or set per plan or tenant, runs after authentication (phase: limits)');
      }
      if (d.rate === undefined && d.quota === undefined && d.concurrency === undefined) fail(p, 'a limit needs `rate`, `quota` or `concurrency`');
    });
  };

  checkList(cfg.limits, ['rate_limits', 'limits'], false);
  for (const [plan, defs] of Object.entries(cfg.plans)) checkList(defs, ['rate_limits', 'plans', plan], true);
  for (const [tenant, defs] of Object.entries(cfg.tenants)) checkList(defs, ['rate_limits', 'tenants', tenant], true);
  if (cfg.default_plan !== undefined && !(cfg.default_plan in cfg.plans)) {
    fail(['rate_limits', 'default_plan'], `unknown plan '${cfg.default_plan}'`);
  }
  for (const up of Object.keys(cfg.adaptive)) {
    if (!(up in (config.upstreams ?? {}))) fail(['rate_limits', 'adaptive', up], `unknown upstream '${up}'`);
  }
  (config.routes ?? []).forEach((r, i) => {
    const sec = routeSection(r);
    const v = r['rate_limit'];
    checkList(sec.limits, Array.isArray(v) ? ['routes', i, 'rate_limit'] : ['routes', i, 'rate_limit', 'limits'], false);
  });
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new ConfigErrors(errors);
}
