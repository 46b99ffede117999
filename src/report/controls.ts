/**
 * Which controls each section of the report evidences. Evidence, not compliance: a section shows
 * that the control operated over the period (events were logged, reviewed, acted on); whether it
 * satisfies the control is the auditor's judgement, in the scope the organisation set.
 *
 * References: AICPA 2017 Trust Services Criteria (revised points of focus, 2022); PCI DSS v4.0
 * (March 2022); ISO/IEC 27001:2022 Annex A.
 */

export interface ControlRow {
  /** the report section (its key in the JSON report) */
  readonly section: string;
  readonly title: string;
  readonly soc2: readonly string[];
  readonly pciDss: readonly string[];
  readonly iso27001: readonly string[];
  /** what in the section is the evidence */
  readonly evidence: string;
}

export const CONTROLS: readonly ControlRow[] = [
  {
    section: 'traffic',
    title: 'Requests and refusals over time',
    soc2: ['CC7.2'],
    pciDss: ['10.2.1', '10.2.2', '10.4.1'],
    iso27001: ['A.8.15', 'A.8.16'],
    evidence: 'every request is logged with time, client, route, outcome (audit logs enabled and active; monitored for anomalies)',
  },
  {
    section: 'authFailures',
    title: 'Authentication failures',
    soc2: ['CC6.1', 'CC7.2'],
    pciDss: ['10.2.1.4', '10.2.2'],
    iso27001: ['A.8.5', 'A.8.15', 'A.8.16'],
    evidence: 'invalid logical access attempts recorded with code, route, tenant and origin',
  },
  {
    section: 'refusals',
    title: 'Refusals by stage and code',
    soc2: ['CC6.1', 'CC6.6'],
    pciDss: ['10.2.2', '10.4.1'],
    iso27001: ['A.5.15', 'A.8.15', 'A.8.16'],
    evidence: 'access restrictions enforced at the boundary (authorization, limits, validation), each refusal with its stage and stable code',
  },
  {
    section: 'waf',
    title: 'WAF blocks by category',
    soc2: ['CC6.6', 'CC7.2'],
    pciDss: ['6.4.2', '10.4.1'],
    iso27001: ['A.8.16', 'A.8.20'],
    evidence: 'an automated technical solution detected and blocked web-based attacks in front of public-facing applications',
  },
  {
    section: 'topRefusedClients',
    title: 'Clients with the most refusals',
    soc2: ['CC7.2', 'CC7.3'],
    pciDss: ['10.4.1', '10.4.3'],
    iso27001: ['A.8.16', 'A.5.25'],
    evidence: 'anomalous sources identified for evaluation as potential security events',
  },
  {
    section: 'bans',
    title: 'Bans placed and lifted',
    soc2: ['CC7.3', 'CC7.4'],
    pciDss: ['11.5.1', '10.4.3'],
    iso27001: ['A.5.25', 'A.5.26', 'A.8.16'],
    evidence: 'security events evaluated and responded to (abusive clients banned automatically or by an operator, and lifted)',
  },
  {
    section: 'adminActions',
    title: 'Administrative actions',
    soc2: ['CC6.1', 'CC6.3'],
    pciDss: ['10.2.1.2', '10.2.2'],
    iso27001: ['A.8.2', 'A.8.15'],
    evidence: 'every action through the admin API, with who took it and when',
  },
  {
    section: 'configVersions',
    title: 'Configuration versions in force',
    soc2: ['CC8.1'],
    pciDss: ['10.2.2', '6.5.1'],
    iso27001: ['A.8.9', 'A.8.32'],
    evidence: 'each configuration (sha256 of the file) with when it took effect and what triggered it; rejected changes too',
  },
  {
    section: 'auditChain',
    title: 'Audit log integrity',
    soc2: ['CC7.2'],
    pciDss: ['10.3.2', '10.3.4'],
    iso27001: ['A.8.15'],
    evidence: 'the hash chain (and keyed checkpoints) of the audit log verified: entries were not edited, removed or reordered',
  },
  {
    section: 'tenants',
    title: 'Per tenant',
    soc2: ['CC6.1', 'CC7.2'],
    pciDss: ['10.2.2', '10.4.1'],
    iso27001: ['A.8.15', 'A.8.16'],
    evidence: 'the same events attributed to each tenant (isolation of one customer from another is monitored)',
  },
];

/** Names of the criteria, for the renderers' legend. */
export const CONTROL_NAMES: Readonly<Record<string, string>> = {
  'CC6.1': 'SOC 2 CC6.1: logical access security software, infrastructure and architectures',
  'CC6.3': 'SOC 2 CC6.3: access authorised, modified or removed by role and least privilege',
  'CC6.6': 'SOC 2 CC6.6: logical access security measures against threats from outside the system boundaries',
  'CC7.2': 'SOC 2 CC7.2: system components monitored for anomalies indicative of malicious acts',
  'CC7.3': 'SOC 2 CC7.3: security events evaluated to determine whether they are incidents',
  'CC7.4': 'SOC 2 CC7.4: security incidents responded to',
  'CC8.1': 'SOC 2 CC8.1: changes to infrastructure and software authorised, tested, approved and implemented',
  '6.4.2': 'PCI DSS 6.4.2: an automated technical solution detects and prevents web-based attacks on public-facing web applications',
  '6.5.1': 'PCI DSS 6.5.1: changes to system components in production made according to established procedures',
  '10.2.1': 'PCI DSS 10.2.1: audit logs are enabled and active for all system components',
  '10.2.1.2': 'PCI DSS 10.2.1.2: audit logs capture all actions taken by any individual with administrative access',
  '10.2.1.4': 'PCI DSS 10.2.1.4: audit logs capture all invalid logical access attempts',
  '10.2.2': 'PCI DSS 10.2.2: audit logs record user, event type, date and time, success or failure, origin, affected component',
  '10.3.2': 'PCI DSS 10.3.2: audit log files are protected to prevent modifications by individuals',
  '10.3.4': 'PCI DSS 10.3.4: file integrity monitoring or change-detection mechanisms on audit logs',
  '10.4.1': 'PCI DSS 10.4.1: security events and logs of critical components reviewed at least once daily',
  '10.4.3': 'PCI DSS 10.4.3: exceptions and anomalies identified during the review are addressed',
  '11.5.1': 'PCI DSS 11.5.1: intrusion-detection and/or intrusion-prevention techniques detect and/or prevent intrusions',
  'A.5.15': 'ISO/IEC 27001:2022 A.5.15: access control',
  'A.5.25': 'ISO/IEC 27001:2022 A.5.25: assessment and decision on information security events',
  'A.5.26': 'ISO/IEC 27001:2022 A.5.26: response to information security incidents',
  'A.8.2': 'ISO/IEC 27001:2022 A.8.2: privileged access rights',
  'A.8.5': 'ISO/IEC 27001:2022 A.8.5: secure authentication',
  'A.8.9': 'ISO/IEC 27001:2022 A.8.9: configuration management',
  'A.8.15': 'ISO/IEC 27001:2022 A.8.15: logging',
  'A.8.16': 'ISO/IEC 27001:2022 A.8.16: monitoring activities',
  'A.8.20': 'ISO/IEC 27001:2022 A.8.20: networks security',
  'A.8.32': 'ISO/IEC 27001:2022 A.8.32: change management',
};
