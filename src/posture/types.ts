/**
 * The posture audit's vocabulary: severities, findings, rule descriptions and the OWASP API
 * Security Top 10 (2023) items findings map to.
 */

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Higher is worse: critical 4 … info 0. */
export function severityRank(s: Severity): number {
  return SEVERITIES.length - 1 - SEVERITIES.indexOf(s);
}

/** OWASP API Security Top 10, 2023 edition (https://owasp.org/API-Security/editions/2023/en/0x11-t10/). */
export const OWASP_API_2023 = [
  {
    id: 'API1:2023',
    title: 'Broken Object Level Authorization',
    url: 'https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/',
  },
  { id: 'API2:2023', title: 'Broken Authentication', url: 'https://owasp.org/API-Security/editions/2023/en/0xa2-broken-authentication/' },
  {
    id: 'API3:2023',
    title: 'Broken Object Property Level Authorization',
    url: 'https://owasp.org/API-Security/editions/2023/en/0xa3-broken-object-property-level-authorization/',
  },
  {
    id: 'API4:2023',
    title: 'Unrestricted Resource Consumption',
    url: 'https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/',
  },
  {
    id: 'API5:2023',
    title: 'Broken Function Level Authorization',
    url: 'https://owasp.org/API-Security/editions/2023/en/0xa5-broken-function-level-authorization/',
  },
  {
    id: 'API6:2023',
    title: 'Unrestricted Access to Sensitive Business Flows',
    url: 'https://owasp.org/API-Security/editions/2023/en/0xa6-unrestricted-access-to-sensitive-business-flows/',
  },
  { id: 'API7:2023', title: 'Server Side Request Forgery', url: 'https://owasp.org/API-Security/editions/2023/en/0xa7-server-side-request-forgery/' },
  { id: 'API8:2023', title: 'Security Misconfiguration', url: 'https://owasp.org/API-Security/editions/2023/en/0xa8-security-misconfiguration/' },
  { id: 'API9:2023', title: 'Improper Inventory Management', url: 'https://owasp.org/API-Security/editions/2023/en/0xa9-improper-inventory-management/' },
  { id: 'API10:2023', title: 'Unsafe Consumption of APIs', url: 'https://owasp.org/API-Security/editions/2023/en/0xaa-unsafe-consumption-of-apis/' },
] as const;
export type OwaspId = (typeof OWASP_API_2023)[number]['id'];

/** What a rule checks, as documented (docs/posture.md) and carried into SARIF `tool.driver.rules`. */
export interface RuleMeta {
  /** stable, dot-namespaced: `auth.unmarked-public` */
  readonly id: string;
  /** the usual severity; a finding may state another (e.g. a /0 proxy range is worse than a /12) */
  readonly severity: Severity;
  readonly title: string;
  /** why it matters */
  readonly why: string;
  readonly fix: string;
  readonly owasp: readonly OwaspId[];
}

/** One weakness of one config, located in the user's file. */
export interface Finding {
  readonly id: string;
  readonly severity: Severity;
  readonly title: string;
  /** what exactly was found here (names the route, key or value) */
  readonly message: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** the key path the line points at, e.g. `routes[2].auth` or `apis[0].spec` */
  readonly keyPath: string;
  readonly why: string;
  readonly fix: string;
  readonly owasp: readonly OwaspId[];
}

export type OwaspStatus = 'findings' | 'covered' | 'not-assessed';

export interface Summary {
  readonly counts: Readonly<Record<Severity, number>>;
  /** each Top 10 item: findings when some finding maps to it, covered when rules check it and found nothing */
  readonly owasp: readonly {
    readonly id: OwaspId;
    readonly title: string;
    readonly status: OwaspStatus;
    readonly findings: number;
    readonly rules: readonly string[];
  }[];
}

export interface Report {
  readonly file: string;
  readonly findings: readonly Finding[];
  readonly summary: Summary;
  readonly rules: readonly RuleMeta[];
}
