/**
 * The registered stage modules. Order between stages is data (phase, then `order`),
 * never this list's order. Add one line per stage folder.
 */
import type { StageModule } from '../core/stage.js';
import { validateStage } from './validate/index.js';
import { RATE_LIMIT_MODULES } from './rate-limit/index.js';
import { ABUSE_MODULES } from './abuse/index.js';
import { wafStage } from './waf/index.js';
import { authStage } from './auth/index.js';
import { authorizeStage } from './authorize/index.js';
import { corsStage } from './cors/index.js';
import { cacheStage } from './cache/index.js';

export const STAGES: readonly StageModule[] = [
  validateStage,
  ...RATE_LIMIT_MODULES,
  ...ABUSE_MODULES,
  wafStage,
  authStage,
  authorizeStage,
  corsStage,
  cacheStage,
];
