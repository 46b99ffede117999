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
import { tracingExporters } from './observe/tracing/export.js';
import { checkUndiciInternals } from './proxy/undici-internals.js';
import { closeWebSockets } from './websocket/upgrader.js';
import { CLOSE_MS, closeWithin, WATCHDOG_SLACK_MS, type Closer, type StopOutcome } from './server/stop.js';

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
  private signalHandlers: [NodeJS.Signals, (s: NodeJS.Signals) => void][] = [];
  private stopped: Promise<StopOutcome> | null = null;

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
      await gw.stop(0);
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
      // audit.fail_closed: a config change is recorded before it is applied, or not applied
      if (this.services.auditBefore?.('config_reload_requested', { file: loaded.file, hash: loaded.hash, trigger, process_user: PROCESS_USER }) === false)
        throw new Error('the audit log cannot be written (audit.fail_closed): reload refused, the running config stays');
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

  /**
   * SIGHUP reloads; SIGTERM/SIGINT stop within the deadline and exit; a second SIGTERM/SIGINT
   * during the stop exits at once (an operator who asks twice does not want to wait).
   */
  private installSignals(): void {
    const onHup = (): void => void this.reload(undefined, 'signal');
    const onTerm = (signal: NodeJS.Signals): void => {
      if (!this.stopping) return void this.stopAndExit(this.current.config.shutdown.grace_ms);
      this.services.logger.warn({ event: 'stop_forced', signal });
      this.services.logger.flush?.();
      process.exit(1);
    };
    for (const [sig, fn] of [
      ['SIGHUP', onHup],
      ['SIGTERM', onTerm],
      ['SIGINT', onTerm],
    ] as [NodeJS.Signals, (s: NodeJS.Signals) => void][]) {
      process.on(sig, fn);
      this.signalHandlers.push([sig, fn]);
    }
  }

  private removeSignals(which: (sig: NodeJS.Signals) => boolean): void {
    this.signalHandlers = this.signalHandlers.filter(([sig, fn]) => {
      if (!which(sig)) return true;
      process.off(sig, fn);
      return false;
    });
  }

  /**
   * Stops (`stop`) and exits the process: 0 after a clean stop, 1 when something did not finish
   * or `code` says so (a fatal error). A watchdog exits with 1 should the stop itself hang.
   */
  stopAndExit(graceMs = this.current?.config.shutdown.grace_ms ?? 0, code = 0): Promise<never> {
    const watchdog = setTimeout(
      () => {
        this.services.logger.error({ event: 'stop_incomplete', unfinished: ['stop'], grace_ms: graceMs });
        this.services.logger.flush?.();
        process.exit(1);
      },
      graceMs + CLOSE_MS + WATCHDOG_SLACK_MS,
    );
    return this.stop(graceMs).then((outcome) => {
      clearTimeout(watchdog);
      process.exit(outcome.clean ? code : 1);
    });
  }

  /**
   * The one stop (docs/shutdown.md): stop accepting; in-flight requests get `graceMs`, then their
   * connections are cut; then every sink and client gets at most CLOSE_MS to finish. Resolves
   * within about `graceMs + CLOSE_MS`, whatever a sink or dependency does; a second call gets the
   * same outcome.
   */
  stop(graceMs = this.current?.config.shutdown.grace_ms ?? 0): Promise<StopOutcome> {
    this.stopped ??= this.doStop(graceMs);
    return this.stopped;
  }

  private async doStop(graceMs: number): Promise<StopOutcome> {
    const log = this.services.logger;
    this.stopping = true;
    this.removeSignals((sig) => sig === 'SIGHUP');
    this.watcher?.close();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    log.info({ event: 'stopping', grace_ms: graceMs, in_flight: this.current?.inFlight ?? 0 });
    closeWebSockets(this.services); // 1001 (going away) to every open WebSocket; they close within the grace time
    // the listeners cut their connections themselves at graceMs; CLOSE_MS more is a backstop
    const requests: Closer[] = this.listeners.map((l) => ({ name: `listener ${l.name}`, close: () => l.close(graceMs) }));
    if (this.admin) requests.push({ name: 'admin listener', close: () => this.admin?.close() });
    const unfinished = await closeWithin(requests, graceMs + CLOSE_MS);
    const snaps = this.current ? [this.current, ...this.retired] : [...this.retired];
    const access = this.accessLogger;
    let accessDropped = 0;
    const sinks: Closer[] = [
      // stage instances and alert webhooks (their queues are dropped, not delivered)
      ...snaps.map((s) => ({ name: `stages and alert webhooks (snapshot ${s.id})`, close: () => s.close() })),
      { name: 'upstream pools', close: () => this.upstreamCache.closeAll(), abort: () => this.upstreamCache.destroyAll() },
      { name: `state store (${this.services.store.kind})`, close: () => this.services.store.close(), abort: () => this.services.store.abort?.() },
      { name: 'audit log', close: () => this.services.close?.() }, // its last checkpoint
      { name: 'tracing exporter', close: () => tracingExporters(this.services).shutdown() }, // the spans still queued
    ];
    if (access) {
      sinks.push({
        name: 'access log',
        close: async () => {
          accessDropped = await access.close(CLOSE_MS);
          if (accessDropped > 0) throw new Error('access-log lines dropped');
        },
        abort: () => access.abort(),
      });
    }
    unfinished.push(...(await closeWithin(sinks, CLOSE_MS)));
    this.removeSignals(() => true);
    const outcome: StopOutcome = { clean: unfinished.length === 0, unfinished };
    if (outcome.clean) log.info({ event: 'stopped' });
    else log.error({ event: 'stop_incomplete', unfinished, grace_ms: graceMs, close_ms: CLOSE_MS, access_log_dropped: accessDropped });
    log.flush?.();
    return outcome;
  }
}

export type { StateStore };
