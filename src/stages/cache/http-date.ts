/**
 * HTTP-date parsing (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 and asctime forms a
 * recipient must accept. Anything else is invalid (null): no Date.parse guessing, so that
 * `Expires: 0`, `... UTC`, a two-digit IMF year or a one-digit hour never become a time.
 * Day and month names are matched case-insensitively (as deployed caches do); the weekday is not
 * checked against the date.
 */

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)';
const LONG_DAY = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const IMF = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i');
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, 'i');
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`, 'i');

/** Longest value looked at: every valid form is at most 29 characters. */
const MAX_DATE_CHARS = 64;

/**
 * ms since the epoch, or null when `value` is not an HTTP-date. `referenceMs` (the time the date
 * was received) resolves an RFC 850 two-digit year: a date more than 50 years after it means the
 * most recent past year with those two digits (RFC 9110 §5.6.7).
 */
export function parseHttpDate(value: string | undefined, referenceMs: number): number | null {
  if (value === undefined || value.length > MAX_DATE_CHARS) return null;
  const v = value.trim();
  let m = IMF.exec(v);
  if (m) return build(Number(m[3]), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  m = RFC850.exec(v);
  if (m) {
    const refYear = new Date(referenceMs).getUTCFullYear();
    let year = Math.floor(refYear / 100) * 100 + Number(m[3]);
    if (year > refYear + 50) year -= 100;
    return build(year, m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME.exec(v);
  if (m) return build(Number(m[6]), m[1]!, Number(m[2]!.trim()), m[3]!, m[4]!, m[5]!);
  return null;
}

function build(year: number, month: string, day: number, hh: string, mm: string, ss: string): number | null {
  const mon = MONTHS[month.toLowerCase()]!;
  const h = Number(hh);
  const mi = Number(mm);
  const s = Number(ss);
  // second 60 is a leap second (RFC 9110 §5.6.7); it is counted as the next second
  if (h > 23 || mi > 59 || s > 60 || day < 1) return null;
  const t = Date.UTC(year, mon, day, h, mi, s);
  const d = new Date(Date.UTC(year, mon, day));
  if (d.getUTCMonth() !== mon || d.getUTCDate() !== day) return null; // 31 Feb
  if (year < 100) return null; // Date.UTC maps 0..99 to 1900..1999; a four-digit year below 0100 is nonsense anyway
  return t;
}

/** An IMF-fixdate for ms since the epoch (for If-Modified-Since and Date). */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
