/** Shared wording of the summary for the text renderers. */
import { SEVERITIES, type Summary } from '../types.js';

export const STATUS_TEXT = { findings: 'finding(s)', covered: 'covered', 'not-assessed': 'not assessed' } as const;

/** `0 critical, 1 high, 2 medium, 0 low, 3 info` */
export function countsLine(summary: Summary): string {
  return SEVERITIES.map((s) => `${summary.counts[s]} ${s}`).join(', ');
}
