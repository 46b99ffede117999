/**
 * libinjection, ported to TypeScript (sqli.ts, html5.ts, xss.ts; BSD-3-Clause, notice in each file):
 * what ModSecurity's `@detectSQLi` and `@detectXSS` operators run, for CRS rules 942100 and
 * 941100/941101.
 *
 * ModSecurity hands libinjection the value's bytes. The engine holds values as JavaScript strings
 * (UTF-8 decoded), so they are encoded back to UTF-8 here: a value that was valid UTF-8 gives
 * libinjection the same bytes ModSecurity would; an invalid sequence was already U+FFFD (EF BF BD).
 * A string form is not equivalent: libinjection treats bytes >= 0x80 one by one (as word characters,
 * as signed chars below 33), so "é" must be the two bytes C3 A9, not one char.
 *
 * Work is linear in the input. Inputs are also bounded: past MAX_INPUT_CHARS UTF-16 code units only
 * the beginning is inspected (ModSecurity has no such bound; request body limits come first here).
 */
import { sqliBytes } from './sqli.js';
import { xssBytes } from './xss.js';

/** Only the first MAX_INPUT_CHARS UTF-16 code units of a value are inspected (256 Ki). */
export const MAX_INPUT_CHARS = 1 << 18;

const encoder = new TextEncoder();
let scratch = new Uint8Array(4096);

/** The value's UTF-8 bytes (a view of a shared buffer: valid until the next call). */
function utf8(input: string): Uint8Array {
  const text = input.length > MAX_INPUT_CHARS ? input.slice(0, MAX_INPUT_CHARS) : input;
  const need = text.length * 3;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  const { written } = encoder.encodeInto(text, scratch);
  return scratch.subarray(0, written);
}

/**
 * `@detectSQLi`: libinjection_sqli on the value's UTF-8 bytes. Returns the fingerprint (what
 * ModSecurity puts in TX:0 when the rule captures, e.g. "s&1c") when it says SQLi, else null.
 */
export function detectSQLi(input: string): string | null {
  if (input.length === 0) return null;
  return sqliBytes(utf8(input));
}

/** `@detectXSS`: libinjection_xss on the value's UTF-8 bytes. */
export function detectXSS(input: string): boolean {
  if (input.length === 0) return false;
  return xssBytes(utf8(input));
}

/** detectSQLi on bytes as they are (no UTF-8 step, no length bound: the caller bounds them). */
export const detectSQLiBytes: (bytes: Uint8Array) => string | null = sqliBytes;

/** detectXSS on bytes as they are (no UTF-8 step, no length bound: the caller bounds them). */
export const detectXSSBytes: (bytes: Uint8Array) => boolean = xssBytes;

/** A byte string (one char per byte, as the CRS engine holds values) as bytes, bounded (a view of a shared buffer). */
function latin1(input: string): Uint8Array {
  const n = Math.min(input.length, MAX_INPUT_CHARS);
  if (scratch.length < n) scratch = new Uint8Array(Math.max(n, scratch.length * 2));
  for (let i = 0; i < n; i++) scratch[i] = input.charCodeAt(i);
  return scratch.subarray(0, n);
}

/** detectSQLi on a byte string (the CRS engine's values: one char per byte), bounded as detectSQLi is. */
export function detectSQLiLatin1(input: string): string | null {
  return input.length === 0 ? null : sqliBytes(latin1(input));
}

/** detectXSS on a byte string (the CRS engine's values: one char per byte), bounded as detectXSS is. */
export function detectXSSLatin1(input: string): boolean {
  return input.length === 0 ? false : xssBytes(latin1(input));
}
