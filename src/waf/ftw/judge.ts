/**
 * Judges one stage as go-ftw does (runner/run.go checkResult, check_*.go): an expected error
 * passes on any error and fails without one; otherwise an error fails, then the status, the
 * response regex, the log regexes and the rule ids are checked. Pure.
 */
import type { FtwOutput } from './types.js';
import { testRegex } from './regex.js';

/** What was seen of one stage's request. */
export interface Observed {
  /** why there was no response (timeout, reset, unreadable), or null */
  readonly error: string | null;
  readonly status: number | null;
  /** the whole response as received ('' without one) */
  readonly response: string;
  /** ids of the rules that matched, from the gateway's record ([] when no record) */
  readonly ruleIds: readonly string[];
  /** the record's log text ('' when no record) */
  readonly log: string;
}

export interface Verdict {
  readonly pass: boolean;
  /** why it failed (empty when it passed) */
  readonly reasons: readonly string[];
}

function matches(pattern: string, text: string, reasons: string[]): boolean | null {
  try {
    return testRegex(pattern).test(text);
  } catch (e) {
    reasons.push((e as Error).message);
    return null;
  }
}

export function judge(expected: FtwOutput, got: Observed): Verdict {
  const reasons: string[] = [];
  if (expected.expectError) {
    if (got.error === null) reasons.push(`expected an error, got status ${got.status ?? '?'}`);
    return { pass: reasons.length === 0, reasons };
  }
  if (got.error !== null) return { pass: false, reasons: [`no response: ${got.error}`] };
  if (expected.status.length > 0 && (got.status === null || !expected.status.includes(got.status)))
    reasons.push(`status ${got.status ?? 'none'}, expected ${expected.status.join(' or ')}`);
  if (expected.responseContains !== null && matches(expected.responseContains, got.response, reasons) === false)
    reasons.push(`response does not match ${JSON.stringify(expected.responseContains)}`);
  if (expected.matchRegex !== null && matches(expected.matchRegex, got.log, reasons) === false)
    reasons.push(`log does not match ${JSON.stringify(expected.matchRegex)}`);
  const missing = expected.expectIds.filter((id) => !got.ruleIds.includes(id));
  if (missing.length > 0) reasons.push(`expected ids not matched: ${missing.join(', ')}`);
  if (expected.noMatchRegex !== null && matches(expected.noMatchRegex, got.log, reasons) === true)
    reasons.push(`log matches ${JSON.stringify(expected.noMatchRegex)}`);
  const unwanted = expected.noExpectIds.filter((id) => got.ruleIds.includes(id));
  if (unwanted.length > 0) reasons.push(`ids matched that must not: ${unwanted.join(', ')}`);
  if (expected.isolated && got.ruleIds.length !== 1) reasons.push(`isolated: ${got.ruleIds.length} rules matched, expected exactly one`);
  return { pass: reasons.length === 0, reasons };
}
