/**
 * Header field access for the cache decisions: case-insensitive, own properties only (a header
 * named `constructor` or `__proto__` is data, never the prototype), repeated fields combined.
 */

import type { Headers } from './types.js';

/** Longest field value (all lines combined) the cache interprets; longer: unparseable. */
export const MAX_FIELD_CHARS = 8192;
/** Most list members (directives, Vary names, Age members) the cache interprets; more: unparseable. */
export const MAX_MEMBERS = 64;

/** The lines of a field (none: []); `name` lowercase. */
export function fieldLines(h: Headers, name: string): readonly string[] {
  let v = Object.hasOwn(h, name) ? h[name] : undefined;
  if (v === undefined) {
    // the Headers type promises lowercase names; tolerate a caller that kept the wire case
    // (for-in: no array of keys for every absent field)
    for (const k in h) {
      if (!Object.hasOwn(h, k)) continue;
      if (k.length === name.length && k.toLowerCase() === name) {
        v = h[k];
        break;
      }
    }
  }
  if (v === undefined) return [];
  return typeof v === 'string' ? [v] : v;
}

/** The field's lines combined with ', ' (RFC 9110 §5.3), or undefined when absent. */
export function fieldValue(h: Headers, name: string): string | undefined {
  const lines = fieldLines(h, name);
  return lines.length === 0 ? undefined : lines.join(', ');
}

/**
 * A field value normalised for comparison (Vary matching): lines combined, list members trimmed,
 * empty members dropped, runs of whitespace collapsed to one space. Absent: null.
 */
export function normaliseValue(value: string | readonly string[] | undefined): string | null {
  if (value === undefined) return null;
  const joined = typeof value === 'string' ? value : value.join(',');
  const members: string[] = [];
  for (const m of joined.split(',')) {
    const t = m.replace(/[ \t\r\n]+/g, ' ').trim();
    if (t !== '') members.push(t);
  }
  return members.join(', ');
}

/** Comma-separated list members, trimmed, empty ones dropped (no quoted-string awareness: for token lists). */
export function listMembers(value: string): string[] {
  const out: string[] = [];
  for (const m of value.split(',')) {
    const t = m.trim();
    if (t !== '') out.push(t);
  }
  return out;
}
