import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buildReport } from './index.js';

const FROM = new Date('2026-07-01T00:00:00Z');
const TO = new Date('2026-07-02T00:00:00Z');
const stream = (name: string, text: string) => ({ name, open: () => Readable.from([Buffer.from(text)]) });

test('lines that are not JSON objects with a time are skipped and counted; the rest are reported', async () => {
  const text = [
    'not json',
    '[1,2]',
    '{"no_time":1}',
    '{"level":"info","time":"2026-07-01T01:00:00.000Z","log":"access","client_ip":"10.0.0.1","status":200,"decision":"allowed"}',
    '{"level":"info","time":"2026-08-01T01:00:00.000Z","log":"access","client_ip":"10.0.0.1","status":200,"decision":"allowed"}',
    '{"level":"info","time":"2026-07-01T02:00:00.000Z","log":"access","client_ip":"10.0.0.1","status":403,"decision":{"stage":"intake","code":"PC_ERR_PATH_TRAVERSAL","reason":null}',
  ].join('\n');
  const r = await buildReport({ from: FROM, to: TO, accessLogs: [stream('mem', text)] });
  assert.deepEqual(r.sources.accessLogs, [{ path: 'mem', lines: 6, used: 1, unreadable: 4, oversized: 0 }]);
  assert.equal(r.traffic.requests, 1);
  assert.equal(r.auditChain.checked, false);
});

test('an empty period is refused', async () => {
  await assert.rejects(buildReport({ from: TO, to: FROM, accessLogs: [] }), RangeError);
});
