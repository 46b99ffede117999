/**
 * A gateway with the auth stages in its own process: `node gateway-process.js CONFIG`.
 * Prints one JSON line `{ "port": N }` once listening; stops on SIGTERM.
 */
import pino from 'pino';
import { Gateway } from '../../src/gateway.js';
import { loadConfigFile } from '../../src/config/load.js';
import { createServices } from '../../src/create-services.js';
import { AUTH_MODULES } from './support.js';

const file = process.argv[2];
if (!file) throw new Error('usage: gateway-process CONFIG');
const logger = pino({ level: 'warn' }, pino.destination(2));
const services = await createServices(loadConfigFile(file, AUTH_MODULES).config, logger);
const gw = await Gateway.start({ file, logger, watch: false, handleSignals: false, modules: AUTH_MODULES, services });
process.stdout.write(`${JSON.stringify({ port: gw.ports()[0] })}\n`);
process.on('SIGTERM', () => {
  void gw.stop(0).finally(() => process.exit(0));
});
