/**
 * A gateway in its own process for multi-process tests: `node gateway-process.js CONFIG`.
 * Prints one JSON line `{ "port": N }` once listening; stops on SIGTERM.
 * (Uses Gateway.start with the rate-limit test modules; `node bin/portcullis.js start -c FILE`
 * runs the same gateway with every registered stage.)
 */
import pino from 'pino';
import { Gateway } from '../../src/gateway.js';
import { loadConfigFile } from '../../src/config/load.js';
import { createServices } from '../../src/create-services.js';
import { MODULES } from './support.js';

const file = process.argv[2];
if (!file) throw new Error('usage: gateway-process CONFIG');
const logger = pino({ level: 'warn' }, pino.destination(2));
const services = await createServices(loadConfigFile(file, MODULES).config, logger);
// RL_TEST_CLOCK=ms freezes the services clock (requests sent together count as simultaneous)
const frozen = process.env['RL_TEST_CLOCK'];
if (frozen) {
  services.clock = () => Number(frozen);
  services.steadyClock = () => Number(frozen);
}
const gw = await Gateway.start({ file, logger, watch: false, handleSignals: false, modules: MODULES, services });
process.stdout.write(`${JSON.stringify({ port: gw.ports()[0] })}\n`);
process.on('SIGTERM', () => {
  void gw.stop(0).finally(() => process.exit(0));
});
