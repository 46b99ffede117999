/**
 * The CRS engine's operators (`@name param`), compiled once by lowercase SecLang name (issue 23),
 * with ModSecurity v3's semantics on byte strings (one char per byte: see
 * ../transformations/index.ts). Parameters and data files are bytes too: the interpreter reads rule
 * and data files as 'latin1' (a parameter holding a char above U+00FF is taken as text and encoded
 * as UTF-8). `@rx` runs in linear time (rx.ts, pcre.ts, src/core/linear-regex.ts); `@detectSQLi` and
 * `@detectXSS` are libinjection (../libinjection/) on the value's bytes.
 */
import { CrsUnsupported, type CrsOperator, type OperatorCompiler } from '../contract.js';
import {
  compileBeginsWith,
  compileContains,
  compileContainsWord,
  compileEndsWith,
  compileNumeric,
  compileStreq,
  compileWithin,
  type NumericOp,
} from './compare.js';
import { compileIpMatch, compileIpMatchFromFile } from './ip-match.js';
import { compilePm, compilePmFromFile } from './phrases.js';
import { compileRx } from './rx.js';
import { detectSQLiLatin1, detectXSSLatin1 } from '../libinjection/index.js';
import { compileValidateByteRange, validateUrlEncoding, validateUtf8Encoding } from './validate.js';

const always: CrsOperator = () => true;
const never: CrsOperator = () => false;

const NUMERIC: ReadonlySet<string> = new Set(['eq', 'ge', 'gt', 'le', 'lt']);

/** The operator names compileCrsOperator knows (lowercase). */
export const CRS_OPERATOR_NAMES: ReadonlySet<string> = new Set([
  'rx',
  'pm',
  'pmf',
  'pmfromfile',
  'within',
  'streq',
  'beginswith',
  'endswith',
  'contains',
  'containsword',
  'strmatch',
  ...NUMERIC,
  'validatebyterange',
  'validateurlencoding',
  'validateutf8encoding',
  'ipmatch',
  'ipmatchf',
  'ipmatchfromfile',
  'unconditionalmatch',
  'nomatch',
  'detectsqli',
  'detectxss',
]);

/** Compiles `@name param`; throws CrsUnsupported for an unknown name or a parameter it cannot honour. */
export const compileCrsOperator: OperatorCompiler = (name, param, ctx) => {
  switch (name) {
    case 'rx':
      return compileRx(param);
    case 'pm':
      return compilePm(param);
    case 'pmf':
    case 'pmfromfile':
      return compilePmFromFile(param, ctx);
    case 'within':
      return compileWithin(param);
    case 'streq':
      return compileStreq(param);
    case 'beginswith':
      return compileBeginsWith(param);
    case 'endswith':
      return compileEndsWith(param);
    case 'contains':
    case 'strmatch':
      return compileContains(param);
    case 'containsword':
      return compileContainsWord(param);
    case 'validatebyterange':
      return compileValidateByteRange(param);
    case 'validateurlencoding':
      return validateUrlEncoding;
    case 'validateutf8encoding':
      return validateUtf8Encoding;
    case 'ipmatch':
      return compileIpMatch(param);
    case 'ipmatchf':
    case 'ipmatchfromfile':
      return compileIpMatchFromFile(param, ctx);
    case 'unconditionalmatch':
      return always;
    case 'nomatch':
      return never;
    case 'detectsqli':
      return (value, run) => {
        const fingerprint = detectSQLiLatin1(value);
        if (fingerprint === null) return false;
        if (run.captures !== null) run.captures[0] = fingerprint;
        return true;
      };
    case 'detectxss':
      return (value) => detectXSSLatin1(value);
    default:
      if (NUMERIC.has(name)) return compileNumeric(name as NumericOp, param);
      throw new CrsUnsupported(`@${name}: unknown operator`);
  }
};
