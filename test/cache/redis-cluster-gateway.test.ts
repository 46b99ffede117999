import { cacheSharedSuite } from './redis-shared-suite.js';

cacheSharedSuite('a three-master Redis Cluster');
