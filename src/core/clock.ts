/**
 * The gateway's steady clock: milliseconds on the wall-clock scale (Unix epoch) that a step of the
 * system clock does not move: the wall time when the process started plus the monotonic time
 * since. Durations measured with it (a token bucket's refill, a lease, a cool-down) neither
 * collapse nor stretch when the system clock jumps; what is wall time by definition (a token's
 * `exp`, a ban's end shown as a date, log timestamps) keeps using Date.now.
 */
export function steadyNow(): number {
  return performance.timeOrigin + performance.now();
}
