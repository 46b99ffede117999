/**
 * Builds the long-lived services (logger, metrics, state store, audit trail) from the config.
 * They outlive config reloads.
 */
import type { Logger, Services } from './core/services.js';
import type { CanonicalConfig } from './core/config.js';
import { Metrics } from './observe/metrics.js';
import { createLogger } from './observe/logger.js';
import { createStore } from './store/index.js';
import { createAuditLog } from './observe/audit.js';
import { steadyNow } from './core/clock.js';

/** `baseDir`: the config file's directory (relative paths such as the audit log resolve against it). */
/** The services of this process, with their concrete implementations (the admin API and the cluster need them). */
export interface ProcessServices extends Services {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export async function createServices(config: CanonicalConfig, logger?: Logger, baseDir?: string): Promise<ProcessServices> {
  const log: Logger = logger ?? createLogger('stderr', 'gateway');
  const metrics = new Metrics();
  const store = createStore(config.state, log, metrics);
  const lost = metrics.counter('portcullis_audit_lines_lost_total', 'Audit entries that could not be written (disk full, I/O error).');
  const audit = createAuditLog(
    config.audit,
    baseDir,
    (message) => log.error({ event: message.startsWith('audit checkpoint') ? 'audit_checkpoint_failed' : 'audit_write_failed' }, message),
    (n) => lost.inc(n),
  );
  const failClosed = (config.audit as { fail_closed?: unknown } | undefined)?.fail_closed === true;
  const kept = new Map<string, unknown>();
  return {
    logger: log,
    metrics,
    store,
    audit: (event, data) => void audit.write(event, data),
    auditBefore: (event, data) => !failClosed || audit.write(event, data),
    auditFile:
      audit.path === null ? null : { path: audit.path, checkpoints: audit.checkpoints && { path: audit.checkpoints.path, key: audit.checkpoints.key } },
    keep<T>(key: string, make: () => T): T {
      if (!kept.has(key)) kept.set(key, make());
      return kept.get(key) as T;
    },
    clock: Date.now,
    steadyClock: steadyNow,
    close: () => audit.close(),
  };
}
