import { Gateway } from '../gateway.js';

/** Starts a gateway for the CLI: signals handled, file watched per config. */
export async function startGatewayProcess(file: string): Promise<Gateway> {
  const gw = await Gateway.start({ file, handleSignals: true });
  process.on('uncaughtException', (e) => {
    gw.services.logger.fatal({ event: 'uncaught_exception', err: { message: e.message, stack: e.stack } });
    void gw.stop(1000).finally(() => process.exit(1));
  });
  return gw;
}
