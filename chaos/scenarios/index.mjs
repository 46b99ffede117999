// The chaos scenarios, in run order.
import { redis } from './redis.mjs';

export const SCENARIOS = { redis };
