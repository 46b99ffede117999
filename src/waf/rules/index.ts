/** The built-in rule set: our own rules, no external files. */
import type { RuleDef } from '../types.js';
import { SQLI_RULES } from './sqli.js';
import { XSS_RULES } from './xss.js';
import { CODE_RULES } from './code.js';
import { PROTOCOL_RULES } from './protocol.js';

export const BUILTIN_RULES: readonly RuleDef[] = [...PROTOCOL_RULES, ...SQLI_RULES, ...XSS_RULES, ...CODE_RULES];
