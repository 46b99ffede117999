import type { LoadedConfig } from '../config/load.js';
import type { CanonicalConfig } from '../core/config.js';
import { compileSnapshot, UpstreamCache } from '../config/snapshot.js';
import type { StageModule } from '../core/stage.js';
import { createServices } from '../create-services.js';
import pino from 'pino';

/**
 * Compiles the config as the gateway would (OpenAPI documents, cross-key checks, stage
 * factories) without starting listeners, then releases everything. Returns the compiled copy of
 * the tree (with the routes of `apis` appended), which `audit-config` reads.
 */
export async function validateDeep(loaded: LoadedConfig, modules: readonly StageModule[]): Promise<{ routes: number; config: CanonicalConfig }> {
  // no shared store and no audit trail: the check touches nothing outside the process
  const { audit: _audit, ...config } = loaded.config;
  const services = await createServices({ ...config, state: { ...config.state, store: 'memory' } }, pino({ level: 'silent' }));
  const cache = new UpstreamCache();
  const cfg = structuredClone(loaded.config);
  for (const u of Object.values(cfg.upstreams)) delete u.health_check;
  try {
    const snap = await compileSnapshot({ ...loaded, config: cfg }, modules, services, cache);
    await Promise.all(snap.instances.map((i) => i.close?.()));
    return { routes: snap.routes.length, config: cfg };
  } finally {
    await cache.closeAll();
    await services.store.close().catch(() => undefined);
  }
}
