/**
 * Mutations for the fuzz targets: a well-formed input (a JSON document, a raw request, a config
 * file) edited a few times at random places, so that most inputs get past the first check and
 * reach the code behind it. Inputs are strings; byte inputs are latin1 strings (one character per
 * byte), so that every input saves verbatim as a regression file.
 */
import fc from 'fast-check';

/** Bytes and fragments that parsers treat specially. */
export const TOKENS: readonly string[] = [
  '\0',
  '\r',
  '\n',
  '\r\n',
  '\t',
  ' ',
  '"',
  "'",
  '\\',
  '/',
  '%',
  '%00',
  '%2e',
  '%2F',
  '%u002e',
  '%%',
  '+',
  '&',
  '=',
  ';',
  ',',
  ':',
  '[',
  ']',
  '{',
  '}',
  '..',
  '../',
  '..;/',
  '//',
  '?',
  '#',
  '@',
  '*',
  '-',
  '--',
  '${',
  '<script>',
  "' OR 1=1--",
  '__proto__',
  'constructor',
  '\u00ff',
  '\u0080',
  '\xc3\xa9',
  '\xed\xa0\x80',
  '\xef\xbb\xbf',
  '9'.repeat(40),
  '1e999',
  '-0',
  'A'.repeat(300),
];

type Edit =
  | { readonly kind: 'insert'; readonly at: number; readonly text: string }
  | { readonly kind: 'delete'; readonly at: number; readonly len: number }
  | { readonly kind: 'repeat'; readonly at: number; readonly len: number; readonly times: number }
  | { readonly kind: 'byte'; readonly at: number; readonly byte: number }
  | { readonly kind: 'truncate'; readonly at: number };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...TOKENS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 24 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('repeat' as const),
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 32 }),
      times: fc.integer({ min: 2, max: 200 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
);

function apply(s: string, e: Edit): string {
  const at = s.length === 0 ? 0 : e.at % (s.length + 1);
  switch (e.kind) {
    case 'insert':
      return s.slice(0, at) + e.text + s.slice(at);
    case 'delete':
      return s.slice(0, at) + s.slice(at + e.len);
    case 'repeat':
      return s.slice(0, at) + s.slice(at, at + e.len).repeat(e.times) + s.slice(at + e.len);
    case 'byte':
      return s.slice(0, at) + String.fromCharCode(e.byte) + s.slice(at + 1);
    case 'truncate':
      return s.slice(0, at);
  }
}

/** `base`, then up to `maxEdits` edits (none at all in a quarter of the inputs). */
export function mutated(base: fc.Arbitrary<string>, maxEdits = 4): fc.Arbitrary<string> {
  return fc
    .tuple(
      base,
      fc.oneof({ weight: 1, arbitrary: fc.constant([] as Edit[]) }, { weight: 3, arbitrary: fc.array(editArb, { minLength: 1, maxLength: maxEdits }) }),
    )
    .map(([s, edits]) => edits.reduce(apply, s));
}

/** A UTF-8 text as a latin1 string: the bytes a client would send. */
export const utf8Bytes = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

/** Any bytes, as a latin1 string. */
export const anyBytes = (maxLength: number): fc.Arbitrary<string> => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b).toString('latin1'));
