/**
 * The route's `websocket` section: whether the route accepts WebSocket upgrades (RFC 6455 over
 * HTTP/1.1), from which origins, and each connection's limits. Every default limit says why.
 */
import type { JsonSchema } from '../core/json-schema.js';

/** The section as the schema leaves it (defaults applied). */
export interface WebSocketRouteConfig {
  readonly enabled: boolean;
  readonly origins?: readonly string[];
  readonly max_message_bytes: number;
  readonly max_messages_per_second: number;
  readonly message_burst: number;
  readonly idle_timeout_ms: number;
  readonly max_connection_ms: number;
  readonly handshake_timeout_ms: number;
}

const int = (description: string, dflt: number, min: number): JsonSchema => ({ type: 'integer', minimum: min, default: dflt, description });

export const WEBSOCKET_ROUTE_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description:
    'WebSocket (RFC 6455, HTTP/1.1 upgrade) on this route (docs/websocket.md). The handshake passes every request stage of the route (authentication, authorization, limits, WAF) before the upstream is asked, and the client gets `101` only after the upstream accepted. A route without this section refuses upgrades (400 PC_ERR_UPGRADE_NOT_ALLOWED). WebSocket over HTTP/2 (RFC 8441) is not offered.',
  properties: {
    enabled: { type: 'boolean', default: true, description: 'Accept WebSocket upgrades on this route (`false` refuses them as if the section were absent).' },
    origins: {
      type: 'array',
      items: { type: 'string', pattern: '^(\\*|https?://[^/?#\\s]+)$' },
      uniqueItems: true,
      description:
        'Origins (`scheme://host[:port]`, exact, case-insensitive) whose pages may open a WebSocket here; `*` allows any. When absent, a handshake with an `Origin` is accepted only from the same host as its `Host` (as Gorilla WebSocket). A handshake without `Origin` (not from a browser) is not checked. Why: browsers send cookies with cross-site WebSocket handshakes (cross-site WebSocket hijacking); 403 PC_ERR_WEBSOCKET_ORIGIN.',
    },
    max_message_bytes: int(
      'Largest message either way; a bigger one closes the connection (1009 to a client that sent it). Why 128 KiB: the limit of AWS API Gateway WebSockets; chat and JSON messages are far smaller, and each message is held whole in memory.',
      131072,
      1,
    ),
    max_messages_per_second: int(
      'Messages a client may send per second, sustained (a token bucket per connection); over it the connection is closed with 1008. Why 100: far above interactive use, low enough that one connection cannot flood the upstream.',
      100,
      1,
    ),
    message_burst: int('Messages a client may send at once above the sustained rate. Why 200: two seconds of the default rate, for reconnect replays.', 200, 1),
    idle_timeout_ms: int(
      'A connection with no message or ping either way for this long is closed with 1001. Why 10 minutes: the idle timeout of AWS API Gateway WebSockets; clients that want more send pings.',
      600000,
      1000,
    ),
    max_connection_ms: int(
      'A connection is closed with 1001 after this long, whatever its activity (clients reconnect and authenticate again). Why 2 hours: the connection limit of AWS API Gateway WebSockets; it bounds how long a credential revoked at its issuer stays in use.',
      7200000,
      1000,
    ),
    handshake_timeout_ms: int(
      'Time the upstream has to answer the WebSocket handshake (504 after it). Why 10 s: connecting and answering an upgrade takes milliseconds; longer means a stuck upstream.',
      10000,
      100,
    ),
  },
};
