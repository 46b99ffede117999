import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRORS, type ErrorCode } from './errors.js';
import { GRPC, encodeGrpcMessage, grpcStatusOf, grpcWebTrailerFrame, grpcWireOf } from './grpc.js';

const WIRES: [string | undefined, string | null][] = [
  ['application/grpc', 'grpc'],
  ['application/grpc+proto', 'grpc'],
  ['application/grpc+json', 'grpc'],
  ['Application/GRPC; charset=utf-8', 'grpc'],
  ['application/grpc-web', 'grpc-web'],
  ['application/grpc-web+proto', 'grpc-web'],
  ['application/grpc-web+json', 'grpc-web'],
  ['application/grpc-web-text', 'grpc-web-text'],
  ['application/grpc-web-text+proto', 'grpc-web-text'],
  ['application/grpcx', null],
  ['application/grpc-webby', null],
  ['application/json', null],
  ['text/grpc', null],
  [undefined, null],
];

test('the wire of a request is read from its Content-Type', () => {
  for (const [ct, want] of WIRES) assert.equal(grpcWireOf(ct), want, String(ct));
});

const MAPPING: [ErrorCode, number][] = [
  ['PC_ERR_AUTH_REQUIRED', GRPC.UNAUTHENTICATED],
  ['PC_ERR_AUTH_TOKEN_EXPIRED', GRPC.UNAUTHENTICATED],
  ['PC_ERR_INSUFFICIENT_SCOPE', GRPC.PERMISSION_DENIED],
  ['PC_ERR_WAF_BLOCKED', GRPC.PERMISSION_DENIED],
  ['PC_ERR_RATE_LIMITED', GRPC.RESOURCE_EXHAUSTED],
  ['PC_ERR_QUOTA_EXCEEDED', GRPC.RESOURCE_EXHAUSTED],
  ['PC_ERR_BODY_TOO_LARGE', GRPC.RESOURCE_EXHAUSTED],
  ['PC_ERR_VALIDATION', GRPC.INVALID_ARGUMENT],
  ['PC_ERR_UNSUPPORTED_MEDIA_TYPE', GRPC.INVALID_ARGUMENT],
  ['PC_ERR_ROUTE_NOT_FOUND', GRPC.UNIMPLEMENTED],
  ['PC_ERR_METHOD_NOT_ALLOWED', GRPC.UNIMPLEMENTED],
  ['PC_ERR_UPSTREAM_UNAVAILABLE', GRPC.UNAVAILABLE],
  ['PC_ERR_UPSTREAM_NO_HEALTHY', GRPC.UNAVAILABLE],
  ['PC_ERR_LIMIT_UNAVAILABLE', GRPC.UNAVAILABLE],
  ['PC_ERR_UPSTREAM_TIMEOUT', GRPC.DEADLINE_EXCEEDED],
  ['PC_ERR_REQUEST_TIMEOUT', GRPC.DEADLINE_EXCEEDED],
  ['PC_ERR_INTERNAL', GRPC.INTERNAL],
];

test('each refusal maps to the gRPC status a client expects', () => {
  for (const [code, want] of MAPPING) assert.equal(grpcStatusOf(code, ERRORS[code].status), want, code);
});

test('every code of the catalogue maps to a gRPC status other than OK', () => {
  for (const code of Object.keys(ERRORS) as ErrorCode[]) assert.notEqual(grpcStatusOf(code, ERRORS[code].status), GRPC.OK, code);
});

test('grpc-message is percent-encoded (non-ASCII, control characters and %)', () => {
  assert.equal(encodeGrpcMessage('Too many requests'), 'Too many requests');
  assert.equal(encodeGrpcMessage('100% sûr\n'), '100%25 s%C3%BBr%0A');
});

test('the gRPC-Web trailers frame: flag 0x80, length, lower-case header lines', () => {
  const f = grpcWebTrailerFrame({ 'Grpc-Status': '0', 'x-multi': ['a', 'b'] });
  assert.equal(f[0], 0x80);
  assert.equal(f.readUInt32BE(1), f.length - 5);
  assert.equal(f.subarray(5).toString(), 'grpc-status: 0\r\nx-multi: a\r\nx-multi: b\r\n');
});
