// Benchmark scenarios: each names its targets (processes started for the run), workloads, the
// baseline its ratios are computed against, and the checks an issue asks for.
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';

const GET = { name: 'get', script: 'get.lua', path: '/api/items/42' };
const POST = { name: 'post', script: 'post.lua', path: '/api/items' };

/** Starts `node bin/portcullis.js start -c <config>` on CPU 0 with placeholders filled. */
export function gateway(configFile, vars = {}) {
  return async (env) => {
    let text = readFileSync(join(env.HERE, 'configs', configFile), 'utf8');
    const all = { PORT: env.port, UPSTREAM_PORT: env.upstreamPort, ADMIN_PORT: await env.freePort(), WORK: env.work, ROOT: env.ROOT, ...vars };
    text = text.replace(/\{\{(\w+)\}\}/g, (_m, k) => String(all[k]));
    const file = join(env.work, `${env.port}-${configFile}`);
    writeFileSync(file, text);
    const proc = env.startProc(0, process.execPath, [join(env.ROOT, 'bin', 'portcullis.js'), 'start', '-c', file]);
    return { proc };
  };
}

const nodeLimit = async (env) => ({
  proc: env.startProc(0, process.execPath, [join(env.HERE, 'node-limit-proxy.mjs')], { PORT: String(env.port), UPSTREAM: `http://127.0.0.1:${env.upstreamPort}` }),
});

const direct = async (env) => ({ proc: env.startProc(0, process.execPath, [join(env.HERE, 'upstream.mjs')], { PORT: String(env.port) }) });

export const SCENARIOS = {
  core: {
    title: 'Core proxy (issue 2): Portcullis with no security stages vs the Node limit',
    description:
      'GET of a 235-byte JSON and POST of a 1 KB JSON through (a) the bare upstream (a second instance, hit directly), (b) the minimal node:http + undici `Pool.stream` proxy (bench/node-limit-proxy.mjs), (c) Portcullis with the quickstart-like routes, no security stages, access log on (to a file).',
    baseline: 'node-limit',
    targets: [
      { name: 'direct', start: direct },
      { name: 'node-limit', start: nodeLimit },
      { name: 'portcullis', start: gateway('core.yaml') },
    ],
    workloads: [GET, POST],
    checks: [
      { workload: 'get', target: 'portcullis', minRatio: 0.9, maxP99Ratio: 1.5 },
      { workload: 'post', target: 'portcullis', minRatio: 0.9, maxP99Ratio: 1.5 },
    ],
  },
};
