/**
 * Config of a listener's HTTP/2 connection limits and flood budgets (`listeners[].http2`),
 * applied by src/server/h2-floods.ts. Every default is on, and docs/http2.md ("Floods") says why.
 */
import type { JsonSchema } from '../core/json-schema.js';

const count = (description: string, dflt: number, min: number, max: number): JsonSchema => ({
  type: 'integer',
  minimum: min,
  maximum: max,
  default: dflt,
  description,
});

export const http2ListenerSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description:
    'HTTP/2 connection limits and flood budgets (per connection; only read when `protocols` includes h2). A connection over a budget gets GOAWAY (ENHANCE_YOUR_CALM) and is closed, counted (portcullis_http2_flood_total), logged (`http2.flood`) and fed to abuse detection (detector `http2_floods`).',
  properties: {
    mode: {
      enum: ['enforce', 'monitor', 'off'],
      default: 'enforce',
      description:
        '`enforce` closes a connection over budget; `monitor` only counts and logs it; `off` stops counting. node:http2 and nghttp2 limits (`max_invalid_frames`, `max_rejected_streams`, CONTINUATION frames, header list size) always apply.',
    },
    max_concurrent_streams: count(
      'Streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). Why 100: RFC 9113 recommends no fewer; bounds per-connection work.',
      100,
      1,
      1000,
    ),
    max_streams_per_10s: count(
      'New streams per connection per 10 s (a burst of this many, refilled over 10 s). Why 20,000: far above what one connection is served at (about 740/s measured here), so only streams that are reset or refused as fast as they open reach it.',
      20000,
      10,
      10000000,
    ),
    max_resets_per_10s: count(
      'Streams per connection per 10 s that end in RST_STREAM from either side (Rapid Reset: client resets; MadeYouReset: resets the server is made to send) or that the server refused before the gateway saw them. Why 100: a browser cancels a few streams when a page changes, an attack thousands a second (nghttp2 alone allows a burst of 1,000).',
      100,
      1,
      1000000,
    ),
    max_settings_per_10s: count(
      'SETTINGS frames per connection per 10 s after the first. Why 20: a client changes its settings a handful of times per connection; each costs an acknowledgement.',
      20,
      1,
      100000,
    ),
    max_pings_per_10s: count(
      'PING frames per connection per 10 s. Why 20: keep-alive pings come every few seconds at most (gRPC clients default to minutes); each costs an acknowledgement.',
      20,
      1,
      100000,
    ),
    max_invalid_frames: count(
      "Empty DATA frames without END_STREAM and other invalid frames per connection (node's maxSessionInvalidFrames). Why 100: a client has no reason to send empty DATA frames (Envoy allows one in a row); node's default is 1,000.",
      100,
      1,
      100000,
    ),
    max_rejected_streams: count(
      "Streams refused above `max_concurrent_streams` per connection before it is closed (node's maxSessionRejectedStreams). Why 100: node's default; a client that keeps opening streams over the advertised limit ignores SETTINGS.",
      100,
      1,
      100000,
    ),
  },
};
