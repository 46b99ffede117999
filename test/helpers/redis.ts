/**
 * The Redis server of the test run: scripts/run-tests.mjs starts a private redis-server on a free
 * loopback port and passes its URL in PORTCULLIS_TEST_REDIS_URL. No test names a port of its own,
 * so a Redis someone runs on 6379 is never written to. Without the variable a test file that
 * imports this fails as it loads, rather than half-way through a test with its servers still open.
 */
const url = process.env['PORTCULLIS_TEST_REDIS_URL'];
if (url === undefined || url === '') {
  throw new Error(
    'PORTCULLIS_TEST_REDIS_URL is not set: run Redis tests through `node scripts/run-tests.mjs FILTER` (or `npm test`), which starts a private redis-server',
  );
}
const REDIS_URL: string = url;

export function redisUrl(): string {
  return REDIS_URL;
}

/**
 * The run's private three-master Redis Cluster (scripts/test-services.mjs): its seed nodes,
 * `redis://127.0.0.1:PORT` each. Tests that stop a master start their own (test/rate-limit/redis-server.ts).
 */
export function redisClusterNodes(): string[] {
  const v = process.env['PORTCULLIS_TEST_REDIS_CLUSTER_NODES'];
  if (v === undefined || v === '') {
    throw new Error('PORTCULLIS_TEST_REDIS_CLUSTER_NODES is not set: run Redis Cluster tests through `node scripts/run-tests.mjs FILTER` (or `npm test`)');
  }
  return v.split(',');
}

/**
 * Deletes the keys under `prefix` on each server (`redis://host:port`): the one Redis, or every
 * master of a cluster (one key at a time: a cluster node refuses a DEL across slots).
 */
export async function deleteKeys(servers: readonly string[], prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  for (const s of servers) {
    const r = new Redis(s, { maxRetriesPerRequest: 1, lazyConnect: true });
    r.on('error', () => undefined);
    try {
      await r.connect();
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 500);
        cursor = next;
        for (const k of keys) await r.unlink(k);
      } while (cursor !== '0');
    } catch {
      // a master stopped by the test: nothing of this prefix survives it
    } finally {
      r.disconnect();
    }
  }
}
