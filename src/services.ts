/**
 * Builds the long-lived services (logger, metrics, state store, audit trail) from the config.
 * They outlive config reloads.
 */
import type { Logger } from 'pino';
import type { Services } from './core/services.js';
import type { CanonicalConfig } from './config/types.js';
import type { StateStore } from './store/types.js';
import { Metrics } from './observe/metrics.js';
import { createLogger } from './observe/access-log.js';
import { MemoryStore } from './store/memory.js';

type StoreFactory = (state: unknown, logger: Logger, metrics: Metrics) => StateStore;
type AuditFactory = (config: unknown, baseDir?: string) => { write(event: string, data: Record<string, unknown>): void } | null;

async function optional<T>(spec: string, name: string): Promise<T | null> {
  try {
    const mod = (await import(spec)) as Record<string, unknown>;
    return (mod[name] as T | undefined) ?? null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw e;
  }
}

/** `baseDir`: the config file's directory (relative paths such as the audit log resolve against it). */
export async function createServices(config: CanonicalConfig, logger?: Logger, baseDir?: string): Promise<Services> {
  const log = logger ?? createLogger('stderr', 'gateway');
  const metrics = new Metrics();
  const makeStore = await optional<StoreFactory>('./store/index.js', 'createStore');
  const store: StateStore = makeStore ? makeStore(config.state, log, metrics) : new MemoryStore({ maxEntries: 100_000 });
  const makeAudit = await optional<AuditFactory>('./observe/audit.js', 'createAuditLog');
  const audit = makeAudit ? makeAudit(config.audit, baseDir) : null;
  const kept = new Map<string, unknown>();
  return {
    logger: log,
    metrics,
    store,
    audit: (event, data) => audit?.write(event, data),
    keep<T>(key: string, make: () => T): T {
      if (!kept.has(key)) kept.set(key, make());
      return kept.get(key) as T;
    },
    clock: Date.now,
  };
}
