import cluster from 'node:cluster';
import { Gateway } from '../gateway.js';
import { loadConfigFile } from '../config/load.js';
import { STAGES } from '../stages/index.js';

/**
 * Starts a gateway for the CLI: signals handled, file watched per config. With `workers: N > 1`
 * the process becomes the cluster primary and forks N workers.
 */
export async function startGatewayProcess(file: string): Promise<Gateway | null> {
  if (cluster.isWorker) {
    const { runWorker } = await import('../server/cluster.js');
    return runWorker(file);
  }
  const loaded = loadConfigFile(file, STAGES);
  if (loaded.config.workers > 1) {
    // validate fully in the primary first, so that a bad config fails once with exit code 2
    const { validateDeep } = await import('./validate-deep.js');
    await validateDeep(loaded, STAGES);
    const { runPrimary } = await import('../server/cluster.js');
    await runPrimary(loaded);
    return null;
  }
  const gw = await Gateway.start({ file, handleSignals: true });
  process.on('uncaughtException', (e) => {
    gw.services.logger.fatal({ event: 'uncaught_exception', err: { message: e.message, stack: e.stack } });
    // the same stop deadline as a signal, with a short grace: the process is in an unknown state
    void gw.stopAndExit(Math.min(1000, gw.config.shutdown.grace_ms), 1);
  });
  return gw;
}
