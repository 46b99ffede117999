/** Byte strings (one char per byte, see ../transformations/index.ts) for operator parameters. */

/**
 * A parameter or data file as bytes. The interpreter reads rule and data files as 'latin1', which
 * gives bytes already; a string with a char above U+00FF cannot be bytes, so it is taken as text
 * and encoded as UTF-8.
 */
export function asBytes(s: string): string {
  return /[^\x00-\xff]/.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

/** ASCII-only lowercase (C's tolower in the C locale), as ModSecurity compares case-insensitively. */
export function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}
