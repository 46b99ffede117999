/** Shared target lists and transformation chains of the built-in rules. */
import type { TargetKind } from '../types.js';

/** Parameter values and names: query, form, JSON, XML, raw body, cookies, file names. */
export const ARGS: readonly TargetKind[] = [
  'query',
  'query_name',
  'form',
  'form_name',
  'json',
  'json_key',
  'xml',
  'body',
  'cookie',
  'cookie_name',
  'file_name',
];
/** Values where free text is rare (query, form, cookie values and names, path segments, headers). */
export const STRICT: readonly TargetKind[] = [
  'query',
  'query_name',
  'form',
  'form_name',
  'cookie',
  'cookie_name',
  'path_segment',
  'header',
  'file_name',
  'json_key',
];
/** Values that often carry free text, markdown and code (JSON, XML, raw bodies). */
export const TEXT: readonly TargetKind[] = ['json', 'xml', 'body'];
/** Names only. */
export const NAMES: readonly TargetKind[] = ['query_name', 'form_name', 'json_key', 'cookie_name'];
export const ARGS_HEADERS: readonly TargetKind[] = [...ARGS, 'header', 'path_segment'];

/** Fully decoded (URL/HTML/JS/Unicode, repeated), NULs removed, lowercase. */
export const N = ['decodeAll', 'removeNulls', 'lowercase'];
/** N with comments removed and whitespace compressed. */
export const NC = ['decodeAll', 'removeNulls', 'removeCommentsChar', 'compressWhitespace', 'lowercase'];
/** Shell normalisation after decoding. */
export const CMD = ['decodeAll', 'removeNulls', 'cmdLine'];
/** Paths: decoded, backslashes as slashes, lowercase. */
export const PATH = ['decodeAll', 'removeNulls', 'normaliseSlashes', 'lowercase'];
/** Lowercase only (raw encodings). */
export const RAW_LOWER = ['lowercase'];
/** Base64 decoded (only values that are entirely base64). */
export const B64 = ['base64DecodeAligned', 'lowercase'];
export const RAW: string[] = [];
/** URL and HTML decoding only (no JS/CSS escapes: Windows paths keep their backslashes), compressed, lowercase. */
export const U = ['urlDecode', 'htmlEntityDecode', 'removeNulls', 'compressWhitespace', 'lowercase'];
