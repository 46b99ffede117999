import type { RouteConfig } from '../../core/config.js';

/**
 * Whether a route is public: its `auth` is `none` or has `mode: off`. Such a route never has a
 * principal (no authorization, no consumer checks, no tenant ownership).
 */
export function isPublicRoute(route: RouteConfig): boolean {
  const a: unknown = route['auth'];
  return a === 'none' || (typeof a === 'object' && a !== null && (a as { mode?: unknown }).mode === 'off');
}
