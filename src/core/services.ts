import type { Logger } from 'pino';
import type { Metrics } from '../observe/metrics.js';
import type { StateStore } from '../store/types.js';

/**
 * Long-lived services shared by every snapshot: they survive config reloads
 * (JWKS caches, stores, counters), so that a reload does not reset limits or bans.
 */
export interface Services {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** the state store (memory or redis), chosen by the `state` config section */
  store: StateStore;
  /** events of the security audit trail (config reloads, bans, admin actions); no-op until configured */
  audit(event: string, data: Record<string, unknown>): void;
  /**
   * Objects that must outlive one snapshot (a JWKS fetcher per provider, a health checker per
   * upstream): created on first use, reused by later snapshots with the same key.
   */
  keep<T>(key: string, make: () => T): T;
  /** Monotonic-ish wall clock, replaceable in tests. */
  clock(): number;
  /** Releases what these services opened (the audit log writes its last checkpoint); on shutdown. */
  close?(): void;
}
