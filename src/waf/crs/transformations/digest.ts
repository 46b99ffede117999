/** Hashing and encoding transformations over byte strings (one char per byte, see index.ts). */
import { createHash } from 'node:crypto';

/** `t:sha1`: the 20 raw digest bytes (use `t:hexEncode` after it for text). */
export function sha1(s: string): string {
  return createHash('sha1').update(s, 'latin1').digest().toString('latin1');
}

/** `t:md5`: the 16 raw digest bytes. */
export function md5(s: string): string {
  return createHash('md5').update(s, 'latin1').digest().toString('latin1');
}

/** `t:hexEncode`: each byte as two lowercase hex digits. */
export function hexEncode(s: string): string {
  return Buffer.from(s, 'latin1').toString('hex');
}

/** `t:length`: the length in bytes, in decimal. */
export function length(s: string): string {
  return String(s.length);
}
