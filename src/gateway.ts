/**
 * The gateway process: loads the config, compiles snapshots, runs listeners and the admin
 * listener, reloads atomically (SIGHUP, file change), and shuts down gracefully.
 */
import { watch, type FSWatcher } from 'node:fs';
import { userInfo } from 'node:os';
import type { Logger } from './core/services.js';
import { loadConfigFile, parseConfig, type LoadedConfig } from './config/load.js';
import { configuredTenants } from './observe/tenant-metrics.js';
import { compileSnapshot, UpstreamCache, type CompiledSnapshot as Snapshot } from './config/snapshot.js';
import { Pipeline, type PipelineHost } from './core/pipeline.js';
import type { Services } from './core/services.js';
import type { StageModule } from './core/stage.js';
import { LineWriter } from './observe/line-writer.js';
import { AccessLog } from './observe/access-log.js';
import { startListener, type RunningListener } from './server/listeners.js';
import { startAdmin, type AdminHandler, type AdminServer } from './admin/server.js';
import { STAGES } from './stages/index.js';
import type { StateStore } from './core/state.js';
import { createServices } from './create-services.js';
import { ABUSE_ADMIN_HANDLERS } from './admin/bans.js';
import { CACHE_ADMIN_HANDLERS } from './admin/cache.js';
import { CONSOLE_ADMIN_HANDLERS } from './admin/console/handlers.js';
import { REPORT_ADMIN_HANDLERS } from './admin/report.js';
import { raiseFault } from './observe/alerts.js';
import { checkUndiciInternals } from './proxy/undici-internals.js';

/**
 * What asked for a (re)load, recorded in the audit log: the start, SIGHUP (relayed to cluster
 * workers), a change of the config file, or a call of `reload()` (tests, embedding code).
 */
export type ReloadTrigger = 'start' | 'signal' | 'file_change' | 'call';

/**
 * The OS account the gateway runs as, recorded with every config load. Why: a signal or a file
 * change carries no sender, and only this account (or root) can send SIGHUP to the process.
 */
const PROCESS_USER = ((): string => {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
})();

export interface GatewayOptions {
  /** config file path (reloads re-read it) */
  file: string;
  /** config text instead of reading `file` at start (tests); reloads still read `file` */
  text?: string;
  modules?: readonly StageModule[];
  /** logger for gateway events (not the access log); defaults to stderr JSON */
  logger?: Logger;
  /** override listener ports (tests): listener name or index -> port */
  portOverride?: (index: number) => number | undefined;
  adminPortOverride?: number;
  adminAddressOverride?: string;
  /** no admin listener in this process (cluster workers other than the first) */
  adminDisabled?: boolean;
  watch?: boolean;
  handleSignals?: boolean;
  /** admin API handlers (bans, alerts, the live console) */
  adminHandlers?: readonly AdminHandler[];
  /** called with the new config after each successful reload */
  onReload?: (config: Snapshot['config']) => void;
  services?: Services;
}

export class Gateway implements PipelineHost {
  readonly services: Services;
  private current!: Snapshot;
  private readonly retired = new Set<Snapshot>();
  private readonly upstreamCache = new UpstreamCache();
  private readonly pipeline: Pipeline;
  private listeners: RunningListener[] = [];
  private admin: AdminServer | null = null;
  private accessLogger: AccessLog | null = null;
  private accessLogPath: string | null = null;
  private stopping = false;
  private watcher: FSWatcher | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  private reloading: Promise<boolean> | null = null;
  private readonly modules: readonly StageModule[];
  private readonly adminHandlerList: AdminHandler[];
  private signalHandlers: [NodeJS.Signals, () => void][] = [];

  private constructor(
    private readonly opts: GatewayOptions,
    services: Services,
  ) {
    this.services = services;
    this.modules = opts.modules ?? STAGES;
    this.adminHandlerList = [
      ...(opts.adminHandlers ?? [...ABUSE_ADMIN_HANDLERS, ...CACHE_ADMIN_HANDLERS, ...CONSOLE_ADMIN_HANDLERS, ...REPORT_ADMIN_HANDLERS]),
    ];
    this.pipeline = new Pipeline(this);
  }

  /** Loads, compiles and starts everything; throws ConfigError(s) on a bad config. */
  static async start(opts: GatewayOptions): Promise<Gateway> {
    checkUndiciInternals(); // fails loudly when the installed undici is not the one checked
    const modules = opts.modules ?? STAGES;
    const loaded = opts.text !== undefined ? parseConfig(opts.text, opts.file, modules) : loadConfigFile(opts.file, modules);
    const services = opts.services ?? (await createServices(loaded.config, opts.logger, loaded.baseDir));
    const gw = new Gateway(opts, services);
    try {
      await gw.boot(loaded);
    } catch (e) {
      await gw.stop(0).catch(() => undefined);
      throw e;
    }
    return gw;
  }

  private async boot(loaded: LoadedConfig): Promise<void> {
    const snap = await compileSnapshot(loaded, this.modules, this.services, this.upstreamCache, (u, t) =>
      this.fault('upstream_unhealthy', { upstream: u, target: t }),
    );
    this.current = snap;
    this.setAccessLog(snap);
    this.services.metrics.setTenants(configuredTenants(snap.config));
    this.services.metrics.reloads.inc({ result: 'success' });
    this.services.audit('config_loaded', { file: loaded.file, hash: loaded.hash, trigger: 'start', process_user: PROCESS_USER });
    const cfg = snap.config;
    for (let i = 0; i < cfg.listeners.length; i++) {
      const l = cfg.listeners[i]!;
      const port = this.opts.portOverride?.(i);
      const lc = port === undefined ? l : { ...l, port };
      this.listeners.push(await startListener(lc, loaded.baseDir, this.pipeline, this.services.logger));
    }
    if (cfg.admin.enabled && !this.opts.adminDisabled) {
      this.admin = await startAdmin(this.opts.adminAddressOverride ?? cfg.admin.address, this.opts.adminPortOverride ?? cfg.admin.port, {
        services: this.services,
        config: () => this.current.config,
        // not ready while stopping, or while a shared store (Redis) is unreachable
        ready: () => !this.stopping && this.services.store.healthy(),
        handlers: () => this.adminHandlerList,
      });
    }
    if (this.opts.watch ?? cfg.reload.watch) this.watchFile();
    if (this.opts.handleSignals) this.installSignals();
    this.services.logger.info({
      event: 'started',
      listeners: this.listeners.map((l) => `${l.runtime.info.tls ? 'https' : 'http'}://${l.config.address}:${l.port()}`),
      admin: this.admin ? `http://${cfg.admin.address}:${this.admin.port()}` : null,
      routes: snap.routes.length,
    });
  }

  addAdminHandler(h: AdminHandler): void {
    this.adminHandlerList.push(h);
  }

  private setAccessLog(snap: Snapshot): void {
    const al = snap.config.access_log;
    if (!al.enabled) {
      void this.accessLogger?.close();
      this.accessLogger = null;
      this.accessLogPath = null;
      return;
    }
    if (this.accessLogPath !== al.path) {
      void this.accessLogger?.close();
      const dropped = this.services.metrics.counter('portcullis_access_log_dropped_total', 'Access-log lines dropped because the log sink fell behind.');
      this.accessLogger = new AccessLog(new LineWriter(al.path, { onDrop: (n) => dropped.inc(n) }));
      this.accessLogPath = al.path;
    }
  }

  // ---- PipelineHost ----------------------------------------------------------------------------
  snapshot(): Snapshot {
    return this.current;
  }
  accessLog(): AccessLog | null {
    return this.accessLogger;
  }
  shuttingDown(): boolean {
    return this.stopping;
  }
  released(snap: Snapshot): void {
    if (snap !== this.current && this.retired.has(snap)) void this.dispose(snap);
  }

  private async dispose(snap: Snapshot): Promise<void> {
    this.retired.delete(snap);
    await snap.close();
    await this.upstreamCache.prune([this.current, ...this.retired]);
  }

  // ---- info ------------------------------------------------------------------------------------
  ports(): number[] {
    return this.listeners.map((l) => l.port());
  }
  adminPort(): number | null {
    return this.admin?.port() ?? null;
  }
  get config(): Snapshot['config'] {
    return this.current.config;
  }
  get snapshotId(): number {
    return this.current.id;
  }

  // ---- reload ----------------------------------------------------------------------------------
  /**
   * Builds a new snapshot from the file and swaps it in; on failure keeps the running one.
   * `trigger` (what asked for it) goes into the audit entry.
   */
  reload(text?: string, trigger: ReloadTrigger = 'call'): Promise<boolean> {
    if (this.reloading) return this.reloading.then(() => this.reload(text, trigger));
    this.reloading = this.doReload(text, trigger).finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async doReload(text: string | undefined, trigger: ReloadTrigger): Promise<boolean> {
    const log = this.services.logger;
    try {
      const loaded = text !== undefined ? parseConfig(text, this.opts.file, this.modules) : loadConfigFile(this.opts.file, this.modules);
      const changedListeners = JSON.stringify(loaded.config.listeners) !== JSON.stringify(this.current.config.listeners);
      const snap = await compileSnapshot(loaded, this.modules, this.services, this.upstreamCache, (u, t) =>
        this.fault('upstream_unhealthy', { upstream: u, target: t }),
      );
      const old = this.current;
      this.current = snap; // atomic swap: new requests see the new snapshot
      this.setAccessLog(snap);
      this.services.metrics.setTenants(configuredTenants(snap.config));
      this.retired.add(old);
      if (old.inFlight === 0) void this.dispose(old);
      this.services.metrics.reloads.inc({ result: 'success' });
      this.services.audit('config_reloaded', { file: loaded.file, hash: loaded.hash, trigger, process_user: PROCESS_USER });
      this.opts.onReload?.(snap.config);
      log.info({
        event: 'config_reloaded',
        hash: loaded.hash,
        routes: snap.routes.length,
        ...(changedListeners ? { note: 'listener changes need a restart' } : {}),
      });
      return true;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.services.metrics.reloads.inc({ result: 'failure' });
      this.services.audit('config_rejected', { file: this.opts.file, error: message, trigger, process_user: PROCESS_USER });
      this.fault('config_reload_rejected', { error: message });
      log.error({ event: 'config_reload_failed', error: message });
      return false;
    }
  }

  private watchFile(): void {
    try {
      this.watcher = watch(this.opts.file, { persistent: false }, () => {
        if (this.reloadTimer) clearTimeout(this.reloadTimer);
        this.reloadTimer = setTimeout(() => void this.reload(undefined, 'file_change'), 100);
        this.reloadTimer.unref();
      });
      this.watcher.on('error', () => undefined);
    } catch {
      this.services.logger.warn({ event: 'watch_unavailable', file: this.opts.file });
    }
  }

  private fault(kind: string, details: Record<string, unknown>): void {
    this.services.logger.warn({ event: 'fault', kind, ...details });
    raiseFault(kind, details, this.services);
  }

  private installSignals(): void {
    const onHup = (): void => void this.reload(undefined, 'signal');
    const onTerm = (): void => {
      void this.stop(this.current.config.shutdown.grace_ms).then(() => process.exit(0));
    };
    for (const [sig, fn] of [
      ['SIGHUP', onHup],
      ['SIGTERM', onTerm],
      ['SIGINT', onTerm],
    ] as [NodeJS.Signals, () => void][]) {
      process.on(sig, fn);
      this.signalHandlers.push([sig, fn]);
    }
  }

  /** Graceful stop: stop accepting, let in-flight requests finish within `graceMs`, close all. */
  async stop(graceMs = this.current?.config.shutdown.grace_ms ?? 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const [sig, fn] of this.signalHandlers) process.off(sig, fn);
    this.watcher?.close();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.services.logger.info({ event: 'stopping', grace_ms: graceMs, in_flight: this.current?.inFlight ?? 0 });
    await Promise.all(this.listeners.map((l) => l.close(graceMs)));
    await this.admin?.close();
    const snaps = this.current ? [this.current, ...this.retired] : [...this.retired];
    await Promise.all(snaps.map((s) => s.close()));
    await this.upstreamCache.closeAll();
    await this.services.store.close().catch(() => undefined);
    this.services.close?.(); // the audit log's last checkpoint
    await this.accessLogger?.close();
    this.services.logger.info({ event: 'stopped' });
    this.services.logger.flush?.();
  }
}

export type { StateStore };
