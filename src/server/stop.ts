/**
 * The one stop deadline (docs/shutdown.md). Every way a gateway stops (SIGTERM, SIGINT, `stop()`,
 * a cluster worker told to stop, a fatal error) goes through it: in-flight requests get
 * `shutdown.grace_ms`, then their connections are cut; then every sink and client gets at most
 * `CLOSE_MS` to finish, all at once; what has not finished by then is aborted and named.
 */

/**
 * The time each sink and client (access log, audit log, alert webhooks, state store, upstream
 * pools) gets after `grace_ms`. Why 1.5 s: a healthy sink drains in milliseconds; a stalled one
 * never does, and the stop must end well inside an orchestrator's termination period
 * (Kubernetes: 30 s) even with a long `grace_ms`.
 */
export const CLOSE_MS = 1500;

/** Time between the stop deadline and the watchdog that exits a process whose stop hung anyway. */
export const WATCHDOG_SLACK_MS = 1000;

/** Something a stop waits for. */
export interface Closer {
  readonly name: string;
  close(): Promise<void> | void;
  /** cuts what `close` still waits for once the deadline passed (sockets destroyed, lines dropped) */
  abort?(): void;
}

export interface StopOutcome {
  /** every closer finished in time and without an error */
  readonly clean: boolean;
  /** names of the closers that did not finish in time or failed */
  readonly unfinished: readonly string[];
}

/**
 * Runs every closer at once and resolves within `ms` (never later) with the names of those that
 * had not finished, or threw; their `abort` has been called.
 */
export async function closeWithin(closers: readonly Closer[], ms: number): Promise<string[]> {
  const finished = closers.map(() => false);
  const all = Promise.all(
    closers.map(async (c, i) => {
      try {
        await c.close();
        finished[i] = true;
      } catch {
        // a failed close counts as not finished
      }
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  const unfinished: string[] = [];
  closers.forEach((c, i) => {
    if (finished[i]) return;
    unfinished.push(c.name);
    try {
      c.abort?.();
    } catch {
      // aborting is best effort: the name is reported either way
    }
  });
  return unfinished;
}
