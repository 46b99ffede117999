/** Protocol attacks, scanners, SSRF, XXE and session fixation. */
import type { RuleDef } from '../types.js';
import { ARGS, ARGS_HEADERS, N, STRICT } from './common.js';

const PROTO = ['attack-protocol'];
const SCAN = ['attack-reputation-scanner'];

export const PROTOCOL_RULES: readonly RuleDef[] = [
  // ---- scanners ----------------------------------------------------------------------------
  {
    id: 'scanner-100',
    description: 'Security scanner or attack tool user agent (sqlmap, nikto, nessus, nmap, acunetix, ...)',
    tags: SCAN, paranoia: 1, severity: 'critical', targets: ['header'], headers: ['user-agent'], transforms: ['lowercase'], injection: false,
    operator: {
      type: 'phrase',
      phrases: ['sqlmap', 'nikto', 'nessus', 'nmap', 'masscan', 'zgrab', 'acunetix', 'netsparker', 'appscan', 'w3af', 'dirbuster', 'gobuster', 'wfuzz', 'ffuf', 'feroxbuster', 'nuclei', 'jaeles', 'wpscan', 'joomscan', 'droopescan', 'whatweb', 'arachni', 'skipfish', 'openvas', 'havij', 'commix', 'fimap', 'bsqlbf', 'paros', 'webinspect', 'burp collaborator', 'zmeu', 'morfeus', 'dirb/', 'nsauditor', 'webshag', 'grabber', 'sqlninja', 'pangolin', 'absinthe', 'brutus', 'hydra', 'medusa', 'x-scan', 'xsser', 'xsstrike', 'dotdotpwn', 'blackwidow', 'webvulnscan', 'vega/', 'qualys', 'nstalker', 'n-stealth', 'metis', 'mysqloit', 'floodgate', 'httpscan', 'jorgee', 'muieblackcat', 'zollard', 'internet ninja', 'struts-pwn', 'log4j-scan', 'interactsh', 'crowdstrike', 'censysinspect', 'detectify', 'gospider', 'katana/', 'hakrawler', 'wapiti', 'cgichk', 'webtrends security analyzer', 'mozilla/4.0 (compatible; msie 6.0; win32)', 'teh forest lobster', 'bilbo', 'pmafind', 'zeus'],
    },
  },
  {
    id: 'scanner-110',
    description: 'Security scanner request header (Acunetix-*, X-Scanner, X-WIPP, X-RatProxy-Loop)',
    tags: SCAN, paranoia: 1, severity: 'critical', targets: ['header_name'], transforms: ['lowercase'], injection: false,
    operator: { type: 'regex', pattern: '^(?:acunetix-[a-z-]{1,40}|x-scanner|x-wipp|x-ratproxy-loop|x-request-memo|x-burp-[a-z-]{1,20}|x-nessus[a-z-]{0,20}|x-sqlmap[a-z-]{0,20})$' },
  },
  {
    id: 'scanner-120',
    description: 'Security scanner probe paths (nessustest, AppScan_fingerprint, w00tw00t, nikto-test)',
    tags: SCAN, paranoia: 1, severity: 'critical', targets: ['path', 'uri'], transforms: ['lowercase'], injection: false,
    operator: { type: 'phrase', phrases: ['nessustest', 'nessus_is_probing', 'appscan_fingerprint', 'w00tw00t', 'nikto-test', 'muieblackcat', 'acunetix-wvs-test', 'wvstest', 'sqlmap', '/nmaplowercheck', 'xsstest', 'burpcollaborator', 'oast.pro', 'oast.fun', 'interact.sh'] },
  },
  // ---- protocol attacks --------------------------------------------------------------------
  {
    id: 'proto-100',
    description: 'HTTP request smuggling or splitting: a CR or LF followed by a request line (GET /x HTTP/1.1) in a parameter or body',
    tags: PROTO, paranoia: 1, severity: 'critical', targets: [...ARGS, 'header', 'path'], transforms: N,
    operator: { type: 'regex', pattern: '[\\r\\n][^\\r\\n]{0,64}?(?:get|post|head|put|delete|options|connect|patch|trace|track|propfind|proppatch|mkcol|copy|move|lock|unlock)\\s{1,8}\\S{1,2048}\\s{1,8}http/\\d|[\\r\\n]\\s{0,8}(?:get|post|head|put|delete|options|connect|patch|trace|propfind)\\s{1,8}[/\\w][^\\s]{0,2048}[\\r\\n]' },
    literals: ['\r', '\n'],
  },
  {
    id: 'proto-101',
    description: 'HTTP request smuggling: a complete request line ending in CR/LF inside a parameter or a raw body',
    tags: PROTO, paranoia: 1, severity: 'critical', targets: [...STRICT, 'body'], transforms: N,
    operator: { type: 'regex', pattern: '(?:get|post|head|put|delete|options|connect|patch|trace|propfind)\\s{1,8}\\S{1,2048}\\s{1,8}http/\\d(?:\\.\\d)?\\s{0,4}[\\r\\n]' },
    literals: ['http/'],
  },
  {
    id: 'proto-105',
    description: 'A request line in a parameter (GET http://host HTTP/1.1)',
    tags: PROTO, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path'], transforms: N,
    operator: { type: 'regex', pattern: '\\b(?:get|post|head|put|delete|options|connect|patch|trace)\\s{1,8}(?:/|https?://)\\S{0,2048}\\s{1,8}http/\\d\\.\\d' },
    literals: ['http/'],
  },
  {
    id: 'proto-110',
    description: 'HTTP response splitting / header injection: CR or LF followed by a header or HTML in a parameter, cookie, header or path',
    tags: PROTO, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path'], transforms: N,
    operator: { type: 'regex', pattern: '[\\r\\n]\\s{0,8}(?:(?:location|refresh|set-cookie|cookie|content-type|content-length|content-disposition|content-security-policy|transfer-encoding|connection|host|via|x-forwarded-for|x-forwarded-host|x-forwarded-proto|x-forwarded-server|remote-addr|remote-ip|originating-ip|access-control-allow-origin|x-xss-protection|strict-transport-security|upgrade)\\s{0,8}:|<[a-z!/?]|http/\\d)|\\r\\n\\s{0,8}\\r\\n' },
    literals: ['\r', '\n'],
  },
  {
    id: 'proto-120',
    description: 'A CR or LF in a parameter name, cookie name or the path',
    tags: PROTO, paranoia: 1, severity: 'critical', targets: ['query_name', 'form_name', 'cookie_name', 'path', 'path_segment', 'header_name'], transforms: N,
    operator: { type: 'regex', pattern: '[\\r\\n]' },
    literals: ['\r', '\n'],
  },
  {
    id: 'proto-130',
    description: 'LDAP injection: a value that closes a filter and opens another ()(uid=*), *)(|(, )!(',
    tags: ['attack-ldap', 'injection'], paranoia: 1, severity: 'critical', targets: STRICT, transforms: N,
    operator: { type: 'regex', pattern: '^[^()&|!<>~:]{0,256}\\)\\s{0,8}(?:\\(\\s{0,8}(?:[&|!]|[a-z0-9_.;-]{1,64}\\s{0,4}[<>~]?=)|!\\s{0,8}\\(|[&|]\\s{0,8}\\()' },
    literals: [')'],
  },
  {
    id: 'proto-140',
    description: 'Content-Type confusion: another media type inside the Content-Type parameters (boundary="application/json")',
    tags: PROTO, paranoia: 1, severity: 'critical', targets: ['content_type'], transforms: ['lowercase'], injection: false,
    operator: { type: 'regex', pattern: ';[^;]{0,256}?[=\\s"][a-z0-9!#$&^_.+-]{1,64}/[a-z0-9!#$&^_.+-]{1,64}' },
    literals: [';'],
  },
  {
    id: 'proto-150',
    description: 'Content-Type with more than one media type, or a charset that is not UTF-8/ASCII/Latin-1 (encoding evasion)',
    tags: PROTO, paranoia: 1, severity: 'critical', targets: ['content_type'], transforms: ['lowercase'], injection: false,
    operator: { type: 'regex', pattern: '^[^;,]{1,128},\\s{0,8}[a-z]{1,32}/|charset\\s{0,4}=\\s{0,4}["\']?(?:utf-7|utf-32|ibm[0-9]{2,5}|cp[0-9]{3,5}|ebcdic|x-|shift_jis|iso-2022)' },
    literals: [',', 'charset'],
  },
  {
    id: 'proto-160',
    description: 'Request smuggling signs in headers: a Transfer-Encoding other than chunked, or a CR/LF/NUL in a header value',
    tags: PROTO, paranoia: 1, severity: 'critical', targets: ['header'], transforms: ['lowercase'], injection: false,
    operator: { type: 'regex', pattern: '[\\r\\n\\0]' },
    literals: ['\r', '\n', '\0'],
  },
  {
    id: 'proto-170',
    description: 'Invalid or overlong percent- or UTF-8 encoding in the request target (%c0%af, %u, bare %)',
    tags: PROTO, paranoia: 2, severity: 'warning', targets: ['uri'], transforms: ['lowercase'], injection: false,
    operator: { type: 'regex', pattern: '%(?:[c][01]|e0%[89]|f0%8)|%u[0-9a-f]{4}|%(?![0-9a-f]{2})' },
    literals: ['%'],
  },
  {
    id: 'proto-180',
    description: 'Numeric overflow values used to crash parsers (2^31, 2^32, 2^63, 2^64, 2.2250738585072011e-308)',
    tags: PROTO, paranoia: 1, severity: 'critical', targets: STRICT, transforms: ['lowercase'],
    operator: { type: 'equals', values: ['2147483648', '-2147483649', '4294967296', '4294967295', '9223372036854775808', '-9223372036854775809', '18446744073709551616', '18446744073709551615', '2.2250738585072011e-308', '2.2250738585072012e-308', '0.22250738585072011e-307'] },
  },
  // ---- SSRF ----------------------------------------------------------------------------------
  {
    id: 'ssrf-100',
    description: 'SSRF: a URL to a loopback, private, link-local or cloud-metadata address (any IPv4 spelling, IPv6, IPv4-mapped) or an internal name',
    tags: ['attack-ssrf', 'injection'], paranoia: 1, severity: 'critical', targets: [...STRICT, 'body'], transforms: N,
    operator: { type: 'detect', detector: 'ssrf' },
    literals: ['://'],
  },
  {
    id: 'ssrf-101',
    description: 'SSRF in JSON and XML: a field whose whole value is a URL to an internal address',
    tags: ['attack-ssrf', 'injection'], paranoia: 1, severity: 'critical', targets: ['json', 'xml'], transforms: N,
    operator: { type: 'detect', detector: 'ssrf-url' },
    literals: ['://'],
  },
  {
    id: 'ssrf-110',
    description: 'SSRF: cloud metadata endpoints and paths (169.254.169.254, metadata.google.internal, /latest/meta-data/)',
    tags: ['attack-ssrf', 'injection'], paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: N,
    operator: { type: 'phrase', phrases: ['169.254.169.254', 'metadata.google.internal', '/latest/meta-data', '/latest/user-data', '/computemetadata/v1', '/metadata/instance', '100.100.100.200', 'fd00:ec2::254', '169.254.170.2'] },
  },
  // ---- XXE -----------------------------------------------------------------------------------
  {
    id: 'xxe-100',
    description: 'XXE: a DOCTYPE with an ENTITY declaration or an external identifier (SYSTEM/PUBLIC) in a body or parameter',
    tags: ['attack-xxe', 'injection'], paranoia: 1, severity: 'critical', targets: [...ARGS, 'header'], transforms: N,
    operator: { type: 'regex', pattern: '<!doctype[^>\\[]{0,512}(?:\\[[\\s\\S]{0,2048}?<!entity|system\\s{0,8}["\']|public\\s{0,8}["\'])|<!entity\\s{1,8}%?\\s{0,8}[a-z0-9_.-]{1,64}\\s{1,8}(?:system|public)\\b|<xi:include\\b|<!entity[^>]{0,512}(?:file|https?|ftp|php|expect|gopher|jar|netdoc)://' },
    literals: ['<!doctype', '<!entity', '<xi:include'],
  },
  // ---- session fixation ----------------------------------------------------------------------
  {
    id: 'session-100',
    description: 'Session fixation: setting a cookie through HTML/JS in a parameter (document.cookie=, <meta http-equiv=set-cookie>)',
    tags: ['attack-fixation'], paranoia: 1, severity: 'critical', targets: ARGS, transforms: N,
    operator: { type: 'regex', pattern: '\\.cookie\\b\\s{0,8}=|\\bhttp-equiv\\s{0,8}=\\s{0,8}["\']?set-cookie' },
    literals: ['cookie'],
  },
  {
    id: 'session-110',
    description: 'Session fixation: a session id parameter (jsessionid, phpsessid, aspsessionid, sid) in the query string',
    tags: ['attack-fixation'], paranoia: 1, severity: 'critical', targets: ['query_name'], transforms: ['lowercase'], injection: false,
    operator: { type: 'regex', pattern: '^(?:jsessionid|phpsessid|aspsessionid[a-z]{0,16}|cfid|cftoken|asp\\.net_sessionid)$' },
  },
  // ---- parameter name anomalies ------------------------------------------------------------
  {
    id: 'proto-200',
    description: 'A query or form parameter name with characters that identifiers never contain (quotes, parentheses, operators, angle brackets)',
    tags: PROTO, paranoia: 1, severity: 'notice', targets: ['query_name', 'form_name'], transforms: N, injection: false,
    operator: { type: 'regex', pattern: '[\'"()<>;`|\\\\{}]|\\s[^\\s]' },
  },
];
