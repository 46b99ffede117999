/**
 * Child processes a test file starts (gateways, redis-server): `tracked(spawn(...))` kills them
 * when the file's tests have ended (after a failed or timed-out test too), when the test process
 * exits, and when it is interrupted (SIGINT, SIGTERM), so that a failed or interrupted
 * `npm test` leaves no process behind. Children are spawned without `detached`, in the test
 * process's group, so a terminal's Ctrl-C reaches them as well.
 */
import type { ChildProcess } from 'node:child_process';
import { after } from 'node:test';

const live = new Set<ChildProcess>();

function killAll(): void {
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  live.clear();
}

// registered when the test file imports this module, so on the file's root: after all its tests,
// whether they passed, failed or timed out
after(killAll);
process.once('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.kill(process.pid, sig); // the handler was `once`: the default action ends the process
  });
}

/** Registers a child to be killed when the test file ends or its process exits; returns it. */
export function tracked<C extends ChildProcess>(child: C): C {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}
