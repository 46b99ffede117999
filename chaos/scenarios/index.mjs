// The chaos scenarios, in run order.
import { redis } from './redis.mjs';
import { upstream } from './upstream.mjs';
import { cluster } from './cluster.mjs';
import { reload } from './reload.mjs';
import { diskFull } from './disk-full.mjs';
import { clock } from './clock.mjs';

export const SCENARIOS = { redis, upstream, cluster, reload, 'disk-full': diskFull, clock };
