/**
 * Reading a CRS installation from disk: crs-setup.conf (or its .example), the settings the host
 * chooses (paranoia level, anomaly thresholds) as one SecAction placed after it, the rule files in
 * name order, and the exclusion files the user already has.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';

/** A file named as CRS names its rule and exclusion files (REQUEST-900-..., RESPONSE-999-...). */
const RULE_FILE_NAME = /^(?:REQUEST|RESPONSE)-\d{3}-/;
import type { CrsSource } from './load.js';

export interface CrsSettings {
  /** tx.blocking_paranoia_level (1..4) */
  readonly paranoia?: number;
  /** tx.detection_paranoia_level (defaults to the blocking level) */
  readonly detectionParanoia?: number;
  readonly inboundThreshold?: number;
  readonly outboundThreshold?: number;
}

/** The settings as the SecAction crs-setup.conf's rule 900000 family would write (id 900001). */
export function settingsSource(s: CrsSettings): CrsSource {
  const vars: string[] = [];
  const int = (n: number, what: string): number => {
    if (!Number.isInteger(n) || n < 0 || n > 100000) throw new RangeError(`${what} must be a whole number`);
    return n;
  };
  if (s.paranoia !== undefined) vars.push(`setvar:tx.blocking_paranoia_level=${int(s.paranoia, 'paranoia')}`);
  if (s.detectionParanoia !== undefined) vars.push(`setvar:tx.detection_paranoia_level=${int(s.detectionParanoia, 'detectionParanoia')}`);
  if (s.inboundThreshold !== undefined) vars.push(`setvar:tx.inbound_anomaly_score_threshold=${int(s.inboundThreshold, 'inboundThreshold')}`);
  if (s.outboundThreshold !== undefined) vars.push(`setvar:tx.outbound_anomaly_score_threshold=${int(s.outboundThreshold, 'outboundThreshold')}`);
  const text = vars.length === 0 ? '' : `SecAction "id:900001,phase:1,pass,t:none,nolog,${vars.join(',')}"\n`;
  return { file: '<settings>', text };
}

/**
 * The sources of a CRS folder in load order: crs-setup.conf (else crs-setup.conf.example), the
 * settings, rules/*.conf by name; `extra` (exclusion files) go where their names sort
 * (REQUEST-900-... before the rules, RESPONSE-999-... after) when given as rule file names, else last.
 */
export function readCrsFolder(dir: string, settings: CrsSettings = {}, extra: readonly CrsSource[] = []): CrsSource[] {
  const setup = existsSync(join(dir, 'crs-setup.conf')) ? join(dir, 'crs-setup.conf') : join(dir, 'crs-setup.conf.example');
  const out: CrsSource[] = [{ file: setup, text: readFileSync(setup, 'latin1') }, settingsSource(settings)];
  const rulesDir = join(dir, 'rules');
  // the rule files and the extras named like them (REQUEST-900-..., RESPONSE-999-...), by name
  const named: { name: string; source: CrsSource }[] = [];
  for (const name of readdirSync(rulesDir)) {
    if (!name.endsWith('.conf')) continue;
    const p = join(rulesDir, name);
    named.push({ name, source: { file: p, text: readFileSync(p, 'latin1') } });
  }
  const last: CrsSource[] = [];
  for (const x of extra) {
    const name = basename(x.file);
    if (RULE_FILE_NAME.test(name)) named.push({ name, source: x });
    else last.push(x);
  }
  named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  out.push(...named.map((n) => n.source), ...last);
  return out;
}

/** Reads data files for `@pmFromFile` (paths joined by the operator to the rule file's folder). */
export function readDataFile(path: string): string {
  return readFileSync(path, 'latin1');
}
