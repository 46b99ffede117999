/** Worker script of cluster-store.test.ts: runs store calls through ClusterStore on request. */
import { ClusterStore } from '../../src/store/cluster.js';
import type { LimitCheck } from '../../src/core/state.js';

const store = new ClusterStore({ timeoutMs: 2000 });

interface Job {
  job: 'burst' | 'ops' | 'hold';
  check?: LimitCheck;
  n?: number;
  now?: number;
}

process.on('message', (m: unknown) => {
  const job = m as Job;
  if (typeof job !== 'object' || job === null || !('job' in job)) return;
  void (async () => {
    if (job.job === 'burst') {
      const rs = await Promise.all(Array.from({ length: job.n! }, () => store.limit([job.check!], job.now!)));
      process.send!({ result: rs.filter((r) => r.allowed).length });
    } else if (job.job === 'ops') {
      const first = await store.once('nonce:x', 10000);
      const second = await store.once('nonce:x', 10000);
      const n = await store.incr('count', 10000, 3);
      await store.set('ban:9.9.9.9', 'test', 10000);
      const v = await store.get('ban:9.9.9.9');
      const list = await store.scan('ban:', 10);
      await store.del('ban:9.9.9.9');
      const gone = await store.get('ban:9.9.9.9');
      process.send!({ result: { first, second, n, v, list: list.map((e) => e.key), gone } });
    } else {
      // take slots and exit without releasing them
      const rs = await Promise.all(Array.from({ length: job.n! }, () => store.limit([job.check!], job.now!)));
      process.send!({ result: rs.filter((r) => r.lease !== null).length }, () => process.exit(0));
    }
  })();
});

// messages sent before a listener exists are lost: tell the primary we listen
process.send!({ ready: true });
