/** Route key `authorize`: scopes, roles, claim matchers, tenant ownership, claim-to-parameter binding. */
import type { JsonSchema } from '../../core/json-schema.js';

const strings = (description: string): JsonSchema => ({ type: 'array', items: { type: 'string' }, description });

const requirement = (what: string): JsonSchema => ({
  description: `Required ${what}: a list (all of them) or \`{all_of, any_of}\`.`,
  oneOf: [
    { type: 'array', items: { type: 'string' }, description: `Every one of these ${what}.` },
    {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        all_of: strings(`Every one of these ${what}.`),
        any_of: strings(`At least one of these ${what}.`),
      },
    },
  ],
});

export const claimMatcherSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['claim'],
  minProperties: 2,
  description: 'A condition on one claim of the principal (dotted path, e.g. `org.id`).',
  properties: {
    claim: {
      type: 'string',
      minLength: 1,
      description:
        'Claim name or dotted path. `cert_subject` and `cert_issuer` (mTLS) with `equals`/`in` take RFC 4514 names compared as structures (RDN order and multi-valued RDNs count; spaces, name case and order inside an RDN do not).',
    },
    equals: { type: ['string', 'number', 'boolean'], description: 'The claim equals this value.' },
    in: { type: 'array', items: { type: ['string', 'number', 'boolean'] }, description: 'The claim equals one of these values.' },
    contains: { type: ['string', 'number', 'boolean'], description: 'The claim is an array (or space-separated string) containing this value.' },
    present: { type: 'boolean', description: 'The claim is present (true) or absent (false).' },
  },
};

export const authorizeRouteSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Authorization of the authenticated principal on this route (403 when refused).',
  properties: {
    scopes: requirement('scopes (from the `scope` string or `scp` array)'),
    roles: requirement('roles'),
    claims: { type: 'array', items: claimMatcherSchema, description: 'Claim conditions; every one must hold.' },
    tenants: strings('Tenants owning this route (in addition to `tenants[].routes`); principals of other tenants get 403 PC_ERR_TENANT_MISMATCH.'),
    bind: {
      type: 'array',
      description: 'Path parameters that must equal a principal attribute, e.g. `{param: tenant_id, claim: tenant}` for `/tenants/{tenant_id}/...`.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['param', 'claim'],
        properties: {
          param: { type: 'string', description: 'Path parameter name of the route template.' },
          claim: {
            type: 'string',
            description: '`tenant` (the principal’s tenant), `consumer` (its consumer id), or a claim name / dotted path.',
          },
        },
      },
    },
    mode: { enum: ['enforce', 'monitor', 'off'], default: 'enforce', description: '`monitor` logs what would be denied and lets the request pass.' },
  },
};
