/**
 * The alert state machine, pure: inactive -> pending -> firing -> resolved (inactive), with a
 * `for` duration and a notification cooldown. `now` is passed in.
 */
export type AlertStatus = 'inactive' | 'pending' | 'firing';

export interface AlertState {
  readonly status: AlertStatus;
  /** when the condition started holding (pending/firing) */
  readonly since: number;
  /** when it fired (firing) */
  readonly firedAt: number | null;
  /** whether this firing was notified (a firing inside the cooldown is not, nor is its resolution) */
  readonly notified: boolean;
  /** time of the last firing notification */
  readonly lastNotified: number | null;
}

export const INACTIVE: AlertState = { status: 'inactive', since: 0, firedAt: null, notified: false, lastNotified: null };

export type AlertEvent = 'fire' | 'resolve' | null;

export interface StepRule {
  readonly for_ms: number;
  readonly cooldown_ms: number;
}

/** Advances one alert given whether its condition holds now. Returns the event to notify. */
export function step(s: AlertState, holds: boolean, now: number, rule: StepRule): { state: AlertState; event: AlertEvent } {
  if (!holds) {
    if (s.status === 'firing') {
      return { state: { ...INACTIVE, lastNotified: s.lastNotified }, event: s.notified ? 'resolve' : null };
    }
    if (s.status === 'pending') return { state: { ...INACTIVE, lastNotified: s.lastNotified }, event: null };
    return { state: s, event: null };
  }
  if (s.status === 'firing') return { state: s, event: null };
  const since = s.status === 'pending' ? s.since : now;
  if (now - since < rule.for_ms) {
    return { state: { status: 'pending', since, firedAt: null, notified: false, lastNotified: s.lastNotified }, event: null };
  }
  const cooled = s.lastNotified === null || now - s.lastNotified >= rule.cooldown_ms;
  return {
    state: { status: 'firing', since, firedAt: now, notified: cooled, lastNotified: cooled ? now : s.lastNotified },
    event: cooled ? 'fire' : null,
  };
}
