import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Principal } from '../../core/principal.js';
import { compilePolicy, decide } from './decide.js';

const principal = (p: Partial<Principal> = {}): Principal => ({
  consumer: 'alice',
  tenant: 'A',
  methods: ['jwt'],
  scopes: ['orders:read', 'orders:write'],
  roles: ['user'],
  claims: { org: { id: 'acme' }, groups: ['eng', 'ops'], tier: 3, tenant: 'claimed' },
  plan: null,
  ...p,
});

interface Row {
  name: string;
  section?: Record<string, unknown>;
  owners?: string[];
  principal?: Principal | null;
  params?: Record<string, string>;
  code: string | null;
}

const rows: Row[] = [
  { name: 'no policy passes', section: {}, code: null },
  { name: 'no principal is 401', section: { scopes: ['x'] }, principal: null, code: 'PC_ERR_AUTH_REQUIRED' },
  { name: 'all scopes present', section: { scopes: ['orders:read', 'orders:write'] }, code: null },
  { name: 'one scope missing', section: { scopes: ['orders:read', 'orders:delete'] }, code: 'PC_ERR_INSUFFICIENT_SCOPE' },
  { name: 'any_of scopes with one present', section: { scopes: { any_of: ['admin', 'orders:read'] } }, code: null },
  { name: 'any_of scopes with none present', section: { scopes: { any_of: ['admin', 'root'] } }, code: 'PC_ERR_INSUFFICIENT_SCOPE' },
  { name: 'all_of and any_of together', section: { scopes: { all_of: ['orders:read'], any_of: ['x', 'orders:write'] } }, code: null },
  { name: 'role present', section: { roles: ['user'] }, code: null },
  { name: 'role missing', section: { roles: ['admin'] }, code: 'PC_ERR_ROLE_REQUIRED' },
  { name: 'any_of roles', section: { roles: { any_of: ['admin', 'user'] } }, code: null },
  { name: 'claim equals by dotted path', section: { claims: [{ claim: 'org.id', equals: 'acme' }] }, code: null },
  { name: 'claim differs', section: { claims: [{ claim: 'org.id', equals: 'evil' }] }, code: 'PC_ERR_ROLE_REQUIRED' },
  { name: 'claim in list', section: { claims: [{ claim: 'tier', in: [2, 3] }] }, code: null },
  { name: 'claim not in list', section: { claims: [{ claim: 'tier', in: [1] }] }, code: 'PC_ERR_ROLE_REQUIRED' },
  { name: 'claim array contains', section: { claims: [{ claim: 'groups', contains: 'ops' }] }, code: null },
  { name: 'claim array lacks', section: { claims: [{ claim: 'groups', contains: 'hr' }] }, code: 'PC_ERR_ROLE_REQUIRED' },
  { name: 'claim required absent', section: { claims: [{ claim: 'missing', present: true }] }, code: 'PC_ERR_ROLE_REQUIRED' },
  ...((): Row[] => {
    const mtls = (subject: string): Principal => principal({ methods: ['mtls'], claims: { cert_subject: subject, cert_issuer: 'CN=CA' } });
    const eq = (v: string): Record<string, unknown> => ({ claims: [{ claim: 'cert_subject', equals: v }] });
    return [
      {
        name: 'cert_subject equals the same structure written differently',
        section: eq('cn=billing , O=Acme'),
        principal: mtls('CN=billing,O=Acme'),
        code: null,
      },
      {
        name: 'cert_subject of a multi-valued RDN is not the two-RDN name',
        section: eq('CN=billing,O=Acme'),
        principal: mtls('CN=billing+O=Acme'),
        code: 'PC_ERR_ROLE_REQUIRED',
      },
      { name: 'cert_subject attribute order inside an RDN does not count', section: eq('O=Acme+CN=billing'), principal: mtls('CN=billing+O=Acme'), code: null },
      { name: 'cert_subject RDN order counts', section: eq('O=Acme,CN=billing'), principal: mtls('CN=billing,O=Acme'), code: 'PC_ERR_ROLE_REQUIRED' },
      {
        name: 'cert_issuer in a list, structurally',
        section: { claims: [{ claim: 'cert_issuer', in: ['CN=other', ' CN = CA'] }] },
        principal: mtls('CN=x'),
        code: null,
      },
      { name: 'cert_subject of a principal without a certificate never matches', section: eq('CN=billing'), code: 'PC_ERR_ROLE_REQUIRED' },
    ];
  })(),
  { name: 'claim path through prototype is absent', section: { claims: [{ claim: 'org.constructor', present: true }] }, code: 'PC_ERR_ROLE_REQUIRED' },
  { name: 'own tenant route', owners: ['A'], code: null },
  { name: 'other tenant route', owners: ['B'], code: 'PC_ERR_TENANT_MISMATCH' },
  { name: 'tenant listed on the route', section: { tenants: ['B', 'A'] }, code: null },
  { name: 'no tenant on a tenant route', owners: ['A'], principal: principal({ tenant: null }), code: 'PC_ERR_TENANT_MISMATCH' },
  { name: 'bound param equals tenant', section: { bind: [{ param: 'tenant_id', claim: 'tenant' }] }, params: { tenant_id: 'A' }, code: null },
  {
    name: 'bound param is another tenant',
    section: { bind: [{ param: 'tenant_id', claim: 'tenant' }] },
    params: { tenant_id: 'B' },
    code: 'PC_ERR_TENANT_MISMATCH',
  },
  {
    name: 'tenant binding uses the principal tenant, not a token claim named tenant',
    section: { bind: [{ param: 'tenant_id', claim: 'tenant' }] },
    params: { tenant_id: 'claimed' },
    code: 'PC_ERR_TENANT_MISMATCH',
  },
  { name: 'bound param missing', section: { bind: [{ param: 'tenant_id', claim: 'tenant' }] }, params: {}, code: 'PC_ERR_TENANT_MISMATCH' },
  { name: 'bound to consumer', section: { bind: [{ param: 'user', claim: 'consumer' }] }, params: { user: 'alice' }, code: null },
  { name: 'bound to another consumer', section: { bind: [{ param: 'user', claim: 'consumer' }] }, params: { user: 'bob' }, code: 'PC_ERR_FORBIDDEN' },
  { name: 'bound to a numeric claim', section: { bind: [{ param: 'tier', claim: 'tier' }] }, params: { tier: '3' }, code: null },
  {
    name: 'bound to an object claim never matches',
    section: { bind: [{ param: 'o', claim: 'org' }] },
    params: { o: '[object Object]' },
    code: 'PC_ERR_FORBIDDEN',
  },
  { name: 'tenant is checked before scopes', section: { scopes: ['nope'] }, owners: ['B'], code: 'PC_ERR_TENANT_MISMATCH' },
];

for (const row of rows) {
  test(`authorize decision: ${row.name} → ${row.code ?? 'allowed'}`, () => {
    const policy = compilePolicy(row.section, row.owners ?? []);
    const p = row.principal === undefined ? principal() : row.principal;
    const d = decide(p, policy, row.params ?? {});
    assert.equal(d?.code ?? null, row.code);
  });
}
