/**
 * The CRS engine's transformations (`t:name`), by lowercase SecLang name (issue 23), with the
 * semantics of ModSecurity v3 (Coraza's where ModSecurity's are the same; test vectors in testdata/
 * are ModSecurity's, as Coraza ships them).
 *
 * Value representation: ModSecurity works on bytes, so every value the interpreter hands to a
 * transformation or an operator is a BYTE STRING: a JS string holding one char per byte, U+0000 to
 * U+00FF (Node's 'latin1' encoding: `Buffer.from(utf8Bytes).toString('latin1')`). The interpreter
 * converts request values into it once. In that form the byte-level results are exact:
 * `t:urlDecodeUni` can produce any byte (not only valid UTF-8), `t:utf8toUnicode` reads UTF-8
 * sequences byte by byte, `t:length` counts bytes, `t:sha1` / `t:md5` return their raw digest bytes
 * and `t:hexEncode` encodes bytes. `t:lowercase` / `t:upperCase` change ASCII letters only (C locale).
 * Chars above U+00FF should not occur; where one does, it is kept as it is (never an exception).
 *
 * Deviations (on malformed input only): `t:utf8toUnicode` copies a byte that does not start a
 * well-formed sequence (ModSecurity drops some of them); `t:normalizePathWin` does not strip NTFS
 * alternate streams or trailing dots (a Coraza-only extension).
 */
import type { CrsTransformation, TransformationRegistry } from '../contract.js';
import { removeComments, removeCommentsChar, replaceComments } from './comments.js';
import {
  base64Decode,
  base64DecodeExt,
  cssDecode,
  escapeSeqDecode,
  hexDecode,
  htmlEntityDecode,
  jsDecode,
  urlDecode,
  urlDecodeUni,
  utf8toUnicode,
} from './decode.js';
import { hexEncode, length, md5, sha1 } from './digest.js';
import { normalizePath, normalizePathWin } from './path.js';
import { cmdLine, compressWhitespace, lowercase, removeNulls, removeWhitespace, trim, upperCase } from './text.js';

const identity: CrsTransformation = (s) => s;

const BY_NAME: Readonly<Record<string, CrsTransformation>> = {
  none: identity,
  urlDecode,
  urlDecodeUni,
  jsDecode,
  cssDecode,
  htmlEntityDecode,
  escapeSeqDecode,
  base64Decode,
  base64DecodeExt,
  hexDecode,
  utf8toUnicode,
  lowercase,
  upperCase,
  trim,
  compressWhitespace,
  removeWhitespace,
  removeNulls,
  cmdLine,
  removeComments,
  replaceComments,
  removeCommentsChar,
  normalizePath,
  normalisePath: normalizePath,
  normalizePathWin,
  normalisePathWin: normalizePathWin,
  length,
  sha1,
  md5,
  hexEncode,
};

/** `t:` names (lowercase) → transformation. `t:none` is the identity (clearing the chain is the interpreter's). */
export const CRS_TRANSFORMATIONS: TransformationRegistry = new Map(Object.entries(BY_NAME).map(([k, f]) => [k.toLowerCase(), f]));
