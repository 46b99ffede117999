/** Route keys `protocol` and `grpc` (docs/grpc.md). */
import type { JsonSchema } from '../core/json-schema.js';

export const routeProtocolSchema: JsonSchema = {
  enum: ['http', 'grpc'],
  default: 'http',
  description:
    '`grpc`: the route proxies gRPC calls (HTTP/2, `application/grpc`) and gRPC-Web calls (`application/grpc-web`, `application/grpc-web-text`, over HTTP/1.1 or HTTP/2) to an upstream with `protocol: h2`; bodies are streamed both ways, never buffered; refusals are gRPC statuses (docs/grpc.md). Give each method that needs its own scopes or limits its own route (`match: { path: /pkg.Service/Method }`), and a service its prefix route (`match: { prefix: /pkg.Service }`).',
};

export const grpcRouteSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'gRPC settings of a `protocol: grpc` route.',
  properties: {
    max_message_bytes: {
      type: 'integer',
      minimum: 0,
      maximum: 2147483647,
      default: 4194304,
      description:
        'Largest gRPC message (the length in its 5-byte prefix), each way: a larger one ends the call with RESOURCE_EXHAUSTED and cancels the upstream stream. Why 4 MiB: the default receive limit of gRPC itself (grpc-go, grpc-java, grpc-js), so that no client that works without the gateway breaks behind it.',
    },
    timeout_ms: {
      type: 'integer',
      minimum: 1,
      default: 300000,
      description:
        "Longest call: the deadline is the smaller of the client's `grpc-timeout` and this (DEADLINE_EXCEEDED when it passes, and the upstream stream is cancelled); the upstream gets the remaining time as its `grpc-timeout`. Why 5 minutes: streaming calls outlive the HTTP body deadline, yet a call without a deadline would hold a stream and its limits forever.",
    },
    web: {
      type: 'boolean',
      default: true,
      description: 'Accept gRPC-Web calls (translated to gRPC toward the upstream, trailers returned in the body). Browsers cannot speak gRPC proper.',
    },
  },
};

export const upstreamProtocolSchema: JsonSchema = {
  enum: ['http/1.1', 'h2'],
  default: 'http/1.1',
  description:
    '`h2`: HTTP/2 to the targets: TLS with ALPN for `https://` targets, cleartext with prior knowledge (h2c) for `http://` ones. Required by `protocol: grpc` routes. Why HTTP/1.1 by default: it is what every HTTP framework serves.',
};
