/**
 * The one place Portcullis changes how V8 sizes its heap: a V8 flag set at run time, which Node
 * documents as allowed but unchecked, so it lives behind this seam with a self-check.
 *
 * Why: when full collections are cheap, V8 lets the old generation grow to up to four times its
 * live size before the next one. Under a response cache that evicts an entry on most requests, the
 * garbage that reaches the old generation between full collections made the process peak about
 * 155 MB above the same gateway uncached, with the cache's own 64 MiB counted apart
 * (`npm run bench -- --scenarios cache-memory`). A growing factor of 1.2 to 1.3 (the cache
 * stage sets 1.2) brings it to 56 to 83 MB over in repeated runs, around the cap plus 25% (80 MB),
 * for more frequent full collections (each a few ms with a gateway's live heap of about 35 MB).
 */
import { setFlagsFromString } from 'node:v8';

/** The V8 majors this seam was checked on (Node 20: 11, Node 22: 12, Node 24: 13): the flag exists in each, with the same meaning. */
const CHECKED_V8_MAJORS = new Set([11, 12, 13]);

let applied: number | null = null;

/** Whether the running V8 is one this seam was checked on (its self-check). */
export function heapGrowthSupported(v8Version: string = process.versions.v8): boolean {
  return CHECKED_V8_MAJORS.has(Number(v8Version.split('.')[0]));
}

/**
 * Caps the factor by which V8 grows the old generation over its live size after a full
 * collection at 1 + percent/100 (never raises a cap already set lower). Returns false, changing
 * nothing, on a V8 this was not checked on.
 */
export function limitHeapGrowth(percent: number): boolean {
  if (!Number.isInteger(percent) || percent < 1 || percent > 300) throw new RangeError('percent must be an integer in 1..300');
  if (!heapGrowthSupported()) return false;
  if (applied !== null && applied <= percent) return true;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  applied = percent;
  return true;
}
