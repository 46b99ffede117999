/** Test-file helpers: gateways closed after the file, and an upstream that holds requests. */
import { after } from 'node:test';
import { startGateway, type StartOptions, type TestGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { MODULES } from './support.js';

/**
 * Starts gateways with the rate-limit test modules and closes every one of them after the test
 * file (call once, at the top level of the file).
 */
export function gatewaysClosedAfter(): (yaml: string, opts?: StartOptions) => Promise<TestGateway> {
  const started: TestGateway[] = [];
  after(async () => {
    for (const g of started) await g.close();
  });
  return async (yaml, opts = {}) => {
    const g = await startGateway(yaml, { modules: MODULES, ...opts });
    started.push(g);
    return g;
  };
}

/** An upstream that holds every request until the test releases it (for concurrency limits). */
export interface HeldUpstream {
  readonly url: string;
  /** resolves once `n` requests are held (at most 5 s) and says how many are */
  waitHeld(n: number): Promise<number>;
  releaseAll(): void;
  close(): Promise<void>;
}

export async function heldUpstream(): Promise<HeldUpstream> {
  const held: (() => void)[] = [];
  const up = await startUpstream((_req, res) => void held.push(() => res.end()));
  const releaseAll = (): void => {
    for (const release of held.splice(0)) release();
  };
  return {
    url: up.url,
    async waitHeld(n) {
      const deadline = Date.now() + 5000;
      while (held.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return held.length;
    },
    releaseAll,
    close: async () => {
      releaseAll();
      await up.close();
    },
  };
}
