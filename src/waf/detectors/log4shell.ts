/**
 * Log4j lookups (`${jndi:ldap://...}`), including nested obfuscation such as
 * `${${lower:j}${::-n}di:...}` or `${${env:X:-j}ndi:...}`: inner lookups that only produce
 * characters are resolved first, then the result is checked for dangerous lookups.
 */
const DEFAULTED = /\$\{[^${}]{0,64}:-([^${}]{0,64})\}/g;
const CASE = /\$\{(?:lower|upper)\s*:([^${}]{0,64})\}/g;
const DANGEROUS = /\$\{\s*(?:jndi|ctx|env|sys|java|main|bundle|k8s|docker|spring|log4j|web|date|marker|sd|map|event)\s*:/;
const JNDI = /\$\{\s*jndi\s*:/;

export function detectLog4Shell(value: string): string | null {
  if (value.indexOf('${') < 0) return null;
  let cur = value.length > 16384 ? value.slice(0, 16384) : value;
  for (let r = 0; r < 12; r++) {
    const next = cur.replace(DEFAULTED, '$1').replace(CASE, '$1');
    if (next === cur) break;
    cur = next;
  }
  if (JNDI.test(cur)) return 'jndi lookup';
  const m = DANGEROUS.exec(cur);
  if (m !== null && cur !== value) return `obfuscated lookup ${m[0]}`;
  if (m !== null && /\$\{\s*(?:jndi|ctx|env|sys|java|k8s|docker|spring|main|bundle)\s*:/.test(cur)) return `lookup ${m[0]}`;
  return null;
}
