/** Detectors written as code, by name (used by `{ type: 'detect', detector }` operators). */
import { detectSqlName, detectSqlStatement, detectSqli, detectSqliWeak } from './sqli.js';
import { detectSsrf, detectSsrfUrlValue } from './ssrf.js';
import { detectLog4Shell } from './log4shell.js';

export const DETECTORS: Readonly<Record<string, (value: string) => string | null>> = {
  sqli: detectSqli,
  'sqli-weak': detectSqliWeak,
  'sqli-name': detectSqlName,
  'sqli-statement': detectSqlStatement,
  ssrf: detectSsrf,
  'ssrf-url': detectSsrfUrlValue,
  log4shell: detectLog4Shell,
};
