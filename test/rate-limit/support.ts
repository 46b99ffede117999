/** Test modules for gateway-level rate-limit tests: a header-driven principal, and the `state` key. */
import type { StageModule } from '../../src/core/stage.js';
import type { Principal } from '../../src/core/principal.js';
import { coreSchema } from '../../src/config/schema.js';
import { STATE_SCHEMA } from '../../src/store/index.js';
import { RATE_LIMIT_MODULES } from '../../src/stages/rate-limit/index.js';

/** Sets ctx.principal from x-test-consumer / x-test-plan / x-test-tenant / x-test-claims (JSON), when present. */
export const headerAuthModule: StageModule = {
  id: 'test.header-auth',
  phase: 'authenticate',
  order: 0,
  create: () => ({
    forRoute: () => ({
      id: 'test.header-auth',
      phase: 'authenticate',
      mode: 'enforce',
      run(ctx) {
        const consumer = ctx.header('x-test-consumer');
        if (consumer === undefined) return undefined;
        const claims = ctx.header('x-test-claims');
        const p: Principal = {
          consumer,
          tenant: ctx.header('x-test-tenant') ?? null,
          plan: ctx.header('x-test-plan') ?? null,
          methods: ['none'],
          scopes: [],
          roles: [],
          claims: claims ? (JSON.parse(claims) as Record<string, unknown>) : {},
        };
        ctx.principal = p;
        return undefined;
      },
    }),
  }),
};

/** Contributes the `state` key while the core schema does not have it yet. */
const stateKeyModule: StageModule = {
  id: 'test.state-key',
  phase: 'intake',
  order: 0,
  schema: { global: { state: STATE_SCHEMA } },
  create: () => ({ forRoute: () => null }),
};

const stateProvided = 'state' in coreSchema().properties;

export const MODULES: readonly StageModule[] = [...RATE_LIMIT_MODULES, headerAuthModule, ...(stateProvided ? [] : [stateKeyModule])];

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Gateway } from '../../src/gateway.js';
import { forProtocol, registerGatewayPorts } from '../helpers/protocol.js';
import { parseConfig } from '../../src/config/load.js';
import { createServices } from '../../src/create-services.js';

export interface ClockGateway {
  readonly gateway: Gateway;
  readonly url: string;
  readonly port: number;
  /** the gateway's clock (services.clock), frozen until moved */
  now: number;
  close(): Promise<void>;
}

/** A gateway in this process whose services clock is frozen at `start` and moved by the test. */
export async function startClockGateway(yaml: string, start: number): Promise<ClockGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-rl-'));
  const file = join(dir, 'portcullis.yaml');
  // PC_TEST_PROTOCOL=h2|h2c: the listeners serve HTTP/2 (test/helpers/protocol.ts)
  const text = forProtocol(`${yaml}\naccess_log:\n  enabled: false\nadmin:\n  enabled: false\n`);
  writeFileSync(file, text);
  const logger = pino({ level: 'silent' });
  const services = await createServices(parseConfig(text, file, MODULES).config, logger);
  const out: ClockGateway = {
    now: start,
    gateway: null as unknown as Gateway,
    url: '',
    port: 0,
    close: async () => void (await out.gateway.stop(0)),
  };
  services.clock = () => out.now;
  services.steadyClock = () => out.now;
  const gw = await Gateway.start({ file, logger, watch: false, handleSignals: false, modules: MODULES, services, portOverride: () => 0 });
  const port = gw.ports()[0]!;
  registerGatewayPorts(gw.ports());
  Object.assign(out, { gateway: gw, port, url: `${gw.config.listeners[0]?.tls ? 'https' : 'http'}://127.0.0.1:${port}` });
  return out;
}
