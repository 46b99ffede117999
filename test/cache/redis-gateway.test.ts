import { cacheSharedSuite } from './redis-shared-suite.js';

cacheSharedSuite('Redis');
