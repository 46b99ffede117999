/** Byte helpers shared by the libinjection port. */

/**
 * C's memchr: the index of the first byte `c` in s[from, end), or -1. A plain loop: on short runs
 * it is several times faster than Uint8Array.prototype.indexOf, which the tokenizers call per token.
 */
export function memchr(s: Uint8Array, c: number, from: number, end: number = s.length): number {
  for (let i = from; i < end; i++) {
    if (s[i] === c) return i;
  }
  return -1;
}
