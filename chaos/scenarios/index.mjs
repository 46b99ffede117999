// The chaos scenarios, in run order.
import { redis } from './redis.mjs';
import { upstream } from './upstream.mjs';

export const SCENARIOS = { redis, upstream };
