/** The config the runner starts, and the record log it correlates requests with. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordLog, runnerConfig } from './gateway-host.js';
import type { AccessRecord } from '../../core/record.js';

test('the runner config listens on loopback only, points every upstream at the echo backend and turns side effects off', () => {
  const user = {
    version: 1,
    workers: 4,
    listeners: [
      { name: 'public', address: '0.0.0.0', port: 443, tls: { cert: 'c', key: 'k' }, max_header_bytes: 8192 },
      { name: 'other', port: 8081 },
    ],
    admin: { port: 9090, token: { env: 'T' } },
    audit: { enabled: true, path: 'a.jsonl' },
    access_log: { path: '/var/log/x.log' },
    upstreams: { a: { targets: [{ url: 'https://10.0.0.1', weight: 3 }, { url: 'http://10.0.0.2' }], connect_timeout_ms: 100 } },
    routes: [{ id: 'r' }],
  };
  const c = runnerConfig(user, 'http://127.0.0.1:1234');
  assert.deepEqual(c['listeners'], [{ name: 'public', address: '127.0.0.1', port: 0, max_header_bytes: 8192 }]);
  assert.deepEqual(c['admin'], { port: 9090, token: { env: 'T' }, enabled: false });
  assert.deepEqual(c['audit'], { enabled: false, path: 'a.jsonl' });
  assert.deepEqual(c['access_log'], { path: '/var/log/x.log', enabled: false });
  assert.deepEqual(c['upstreams'], { a: { targets: [{ url: 'http://127.0.0.1:1234', weight: 3 }], connect_timeout_ms: 100 } });
  assert.equal(c['workers'], undefined);
  assert.deepEqual(c['routes'], [{ id: 'r' }]);
  // the user's tree is not changed
  assert.equal(user.listeners[0]?.address, '0.0.0.0');
  assert.throws(() => runnerConfig([1], 'http://x'), /mapping/);
});

const rec = (id: string): AccessRecord => ({ id }) as AccessRecord;

test('the record log finds a record by request id when it arrives later, and gives up after the wait', async () => {
  const log = new RecordLog();
  const mark = log.mark();
  setTimeout(() => log.add(rec('b')), 20);
  log.add(rec('a'));
  assert.equal((await log.waitFor('b', 2000))?.id, 'b');
  assert.equal(await log.waitFor('zzz', 30), null);
  assert.deepEqual(
    log.since(mark).map((r) => r.id),
    ['a', 'b'],
  );
  for (let i = 0; i < 300; i++) log.add(rec(`n${i}`));
  assert.equal(log.since(0).length, 256, 'bounded');
});
