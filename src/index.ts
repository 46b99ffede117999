/**
 * Portcullis as a library: embed the gateway in a Node.js process, or add a stage of your own.
 * The command line (`portcullis`, bin/portcullis.js) is the usual way in; this is what it uses.
 */
export { Gateway, type GatewayOptions } from './gateway.js';
export { STAGES } from './stages/index.js';
export { loadConfigFile, parseConfig, type LoadedConfig } from './config/load.js';
export { ConfigError, ConfigErrors } from './config/errors.js';
export { ERRORS, type ErrorCode, type ErrorSpec } from './core/errors.js';
export { deny, respond, type Decision, type Deny, type Respond } from './core/decision.js';
export type { RequestContext, RouteStage, StageEnv, StageInstance, StageModule } from './core/stage.js';
export type { StateStore } from './core/state.js';
