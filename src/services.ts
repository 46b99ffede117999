/**
 * Builds the long-lived services (logger, metrics, state store, audit trail) from the config.
 * They outlive config reloads.
 */
import type { Logger } from 'pino';
import type { Services } from './core/services.js';
import type { CanonicalConfig } from './config/types.js';
import { Metrics } from './observe/metrics.js';
import { createLogger } from './observe/access-log.js';
import { createStore } from './store/index.js';
import { createAuditLog } from './observe/audit.js';

/** `baseDir`: the config file's directory (relative paths such as the audit log resolve against it). */
export async function createServices(config: CanonicalConfig, logger?: Logger, baseDir?: string): Promise<Services> {
  const log = logger ?? createLogger('stderr', 'gateway');
  const metrics = new Metrics();
  const store = createStore(config.state, log, metrics);
  const audit = createAuditLog(config.audit, baseDir, (message) => log.error({ event: 'audit_checkpoint_failed' }, message));
  const kept = new Map<string, unknown>();
  return {
    logger: log,
    metrics,
    store,
    audit: (event, data) => audit.write(event, data),
    keep<T>(key: string, make: () => T): T {
      if (!kept.has(key)) kept.set(key, make());
      return kept.get(key) as T;
    },
    clock: Date.now,
    close: () => audit.close(),
  };
}
