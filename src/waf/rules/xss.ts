/** Cross-site scripting rules. */
import type { RuleDef } from '../types.js';
import { ARGS_HEADERS, N, NC, STRICT, TEXT } from './common.js';

const T = ['attack-xss', 'injection'];
const NW = ['decodeAll', 'removeNulls', 'removeWhitespace', 'lowercase'];

export const XSS_RULES: readonly RuleDef[] = [
  {
    id: 'xss-100',
    description: 'XSS: a script-capable HTML element (<script>, <iframe>, <object>, <embed>, <svg>, <meta>, <base>, <link>, <style>, <form>, ...) in a parameter that is not free text',
    tags: T, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path', 'uri'], transforms: N,
    operator: { type: 'regex', pattern: '<\\s{0,4}/?\\s{0,4}(?:[a-z0-9_-]{1,16}\\s{0,4}:\\s{0,4})?(?:script|iframe|frame|frameset|object|embed|applet|base|meta|link|style|svg|math|form|isindex|xss|vmlframe|import|bgsound|layer|ilayer|marquee|template|portal|animate|handler|listener|xml|x-script|comment|noscript|keygen|video|audio|body|html|plaintext|textarea|details|dialog)(?:[\\s/>=]|$)' },
    literals: ['<'],
  },
  {
    id: 'xss-102',
    description: 'XSS in free text (rich text, HTML email): elements that run script or load active content (<script>, <iframe>, <object>, <embed>, <applet>, <base>, <frame>)',
    tags: T, paranoia: 1, severity: 'critical', targets: TEXT, transforms: N,
    operator: { type: 'regex', pattern: '<\\s{0,4}/?\\s{0,4}(?:[a-z0-9_-]{1,16}\\s{0,4}:\\s{0,4})?(?:script|iframe|frame|frameset|object|embed|applet|base|isindex|xss|vmlframe|import|portal|handler|listener|x-script)(?:[\\s/>=]|$)|<meta[^>]{0,128}http-equiv\\s{0,4}=\\s{0,4}["\']?(?:refresh|set-cookie)' },
    literals: ['<'],
  },
  {
    id: 'xss-101',
    description: 'XSS: a script-capable element or handler with whitespace inside the tag name (<f o r m, <s c r i p t>)',
    tags: T, paranoia: 1, severity: 'critical', targets: [...STRICT, 'header', 'cookie_name'], transforms: NW,
    operator: { type: 'regex', pattern: '<(?:script|form|iframe|object|embed|svg|img|body|style|meta|link|base|frame|applet|xss|math|video|audio|isindex|marquee|details)(?:[/>=]|$)|<[a-z]{1,16}on[a-z]{3,30}=' },
    literals: ['<'],
  },
  {
    id: 'xss-110',
    description: 'XSS: an HTML event handler attribute (onerror=, onload=, onmouseover=, ...)',
    tags: T, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path', 'uri'], transforms: N,
    operator: { type: 'regex', pattern: '(?:^|[\\s"\'`;/<>])on[a-z]{3,30}\\s{0,4}=\\s{0,4}(?:["\'`]|[a-z_$(\\[]|$)' },
    literals: ['on'],
  },
  {
    id: 'xss-115',
    description: 'XSS: a tag with an attribute in a parameter that is not free text',
    tags: T, paranoia: 1, severity: 'warning', targets: STRICT, transforms: N,
    operator: { type: 'regex', pattern: '<[a-z][a-z0-9:-]{0,16}[\\s/]{1,8}[^<>]{0,256}?(?:src|href|data|action|formaction|xlink:href|srcdoc|style|background|dynsrc|lowsrc|poster|code|codebase)\\s{0,4}=' },
    literals: ['<'],
  },
  {
    id: 'xss-120',
    description: 'XSS: a javascript:, vbscript: or data:text/html URI (also split by whitespace or entities) in a parameter',
    tags: T, paranoia: 1, severity: 'critical', targets: [...STRICT, 'uri'], transforms: NW,
    operator: { type: 'regex', pattern: '(?:java|vb|live|j)script:|data:(?:text/html|text/xml|image/svg\\+xml|application/(?:x-)?(?:xhtml|javascript|ecmascript))|data:[a-z/+-]{0,32};base64,' },
    literals: ['script:', 'data:'],
  },
  {
    id: 'xss-121',
    description: 'XSS: a javascript:, vbscript: or data:text/html URI in free text',
    tags: T, paranoia: 1, severity: 'critical', targets: TEXT, transforms: N,
    operator: { type: 'regex', pattern: '(?:["\'(=]|^)\\s{0,4}(?:java|vb|live)script:\\S|data:(?:text/html|image/svg\\+xml)[;,]' },
    literals: ['script:', 'data:'],
  },
  {
    id: 'xss-130',
    description: 'XSS: JavaScript execution sinks and DOM access (alert(, eval(, document.cookie, window.location, String.fromCharCode, ...)',
    tags: T, paranoia: 1, severity: 'critical', targets: STRICT, transforms: NC,
    operator: { type: 'regex', pattern: '\\b(?:alert|prompt|confirm|eval|settimeout|setinterval|execscript|msgbox|fromcharcode|globaleval)\\s{0,4}[(`]|\\b(?:document|window|self|top|parent|this)\\s{0,8}(?:\\.\\s{0,8}(?:cookie|domain|write|writeln|location|localstorage|sessionstorage)|\\[\\s{0,8}["\'`](?:cookie|alert|location|eval|document|\\$)["\'`])|\\.innerhtml\\s{0,4}=|\\blocation\\s{0,4}(?:\\.\\s{0,4}href\\s{0,4})?=\\s{0,4}["\'`]|\\bwindow\\.location|\\[\\s{0,4}["\'`](?:alert|eval|cookie|globaleval)["\'`]\\s{0,4}\\]' },
    literals: ['alert', 'prompt', 'confirm', 'eval', 'settimeout', 'setinterval', 'execscript', 'msgbox', 'fromcharcode', 'document', 'window', 'self', 'top', 'parent', 'this', 'innerhtml', 'location', '['],
  },
  {
    id: 'xss-131',
    description: 'XSS: JavaScript DOM access to cookies or navigation from free text',
    tags: T, paranoia: 1, severity: 'critical', targets: TEXT, transforms: N,
    operator: { type: 'regex', pattern: '<[^<>]{0,64}>[^<]{0,256}(?:document\\.cookie|alert\\s{0,4}\\(|window\\.location|document\\.write)|\\bdocument\\s{0,4}\\.\\s{0,4}cookie\\s{0,4}(?:\\)|\\+|;|$)' },
    literals: ['document', 'alert', 'window'],
  },
  {
    id: 'xss-140',
    description: 'XSS through CSS (expression(), @import, -moz-binding, behavior:)',
    tags: T, paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: NC,
    operator: { type: 'regex', pattern: '\\bexpression\\s{0,4}\\(\\s{0,4}(?:alert|eval|document|window|[a-z_$]{1,32}\\s{0,4}\\()|@import\\s{0,4}(?:url\\s{0,4}\\()?\\s{0,4}["\']|-moz-binding\\s{0,4}:|\\bbehavior\\s{0,4}:\\s{0,4}url|url\\s{0,4}\\(\\s{0,4}["\']?\\s{0,4}(?:java|vb)script:' },
    literals: ['expression', '@import', '-moz-binding', 'behavior', 'url'],
  },
  {
    id: 'xss-150',
    description: 'XSS: JSFuck-style or bracket-notation obfuscation ([][(![]+[])...], self["alert"])',
    tags: T, paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: N,
    operator: { type: 'regex', pattern: '(?:!\\[\\]|\\[\\]\\)|\\(\\[\\]|\\+\\[\\]|\\[\\]\\[|\\[!\\[\\]){3}|\\b(?:self|top|window|parent|this|frames|globalthis)\\s{0,4}\\[\\s{0,4}(?:["\'`]|\\/\\*)' },
    literals: ['[]', '[!', 'self', 'top', 'window', 'parent', 'this', 'frames', 'globalthis'],
  },
  {
    id: 'xss-160',
    description: 'XSS: XHTML namespace or VML tricks, UTF-7 encoded tags',
    tags: T, paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: N,
    operator: { type: 'regex', pattern: 'xmlns(?::[a-z]{1,16})?\\s{0,4}=\\s{0,4}["\']?\\s{0,4}(?:https?:)?//www\\.w3\\.org/1999/xhtml|\\+adw-|<\\s{0,4}v:[a-z]{2,16}|<!\\[cdata\\[[^\\]]{0,64}<|<\\s{0,4}\\?\\s{0,4}import' },
    literals: ['xmlns', '+adw-', '<', 'cdata'],
  },
  {
    id: 'xss-165',
    description: 'XSS: an XML namespace declaration in a parameter that is not free text (xmlns=, xmlns:xsi=)',
    tags: T, paranoia: 1, severity: 'critical', targets: STRICT, transforms: N,
    operator: { type: 'regex', pattern: '\\bxmlns(?::[a-z0-9_-]{1,32})?\\s{0,4}=' },
    literals: ['xmlns'],
  },
  {
    id: 'xss-166',
    description: 'XSS: JavaScript type-coercion idioms (JSFuck: ![], +[], [][...])',
    tags: T, paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: N,
    operator: { type: 'phrase', phrases: ['![]', '+[]', '[][', '[+[]]', '[!+[]', '+!+[]'] },
  },
  {
    id: 'xss-167',
    description: 'XSS: tags written with characters that lose their high bit (\u00bcscript\u00be)',
    tags: T, paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: ['urlDecode', 'jsDecode', 'lowercase'],
    operator: { type: 'regex', pattern: '\\u00bc\\s{0,4}/?\\s{0,4}[a-z]{1,16}[^\\u00be]{0,256}\\u00be' },
    literals: ['\u00bc'],
  },
  {
    id: 'xss-170',
    description: 'XSS: an HTML tag opened in a parameter that is not free text, with a quote or bracket before it (attribute break-out)',
    tags: T, paranoia: 1, severity: 'critical', targets: STRICT, transforms: N,
    operator: { type: 'regex', pattern: '["\'`]\\s{0,8}/?>\\s{0,8}<\\s{0,4}[a-z!/]|["\'`]\\s{0,8}>\\s{0,8}<|</[a-z]{1,16}>\\s{0,8}<[a-z]' },
    literals: ['>'],
  },
  {
    id: 'xss-180',
    description: 'XSS: an attribute break-out in a parameter ("><, \' autofocus onfocus=, style= with position)',
    tags: T, paranoia: 1, severity: 'critical', targets: STRICT, transforms: N,
    operator: { type: 'regex', pattern: '["\'`]\\s{0,8}(?:autofocus|style\\s{0,4}=|src\\s{0,4}=|href\\s{0,4}=|formaction\\s{0,4}=)|<a\\s[^>]{0,128}style\\s{0,4}=\\s{0,4}["\']?[^>]{0,128}position\\s{0,4}:' },
    literals: ['autofocus', 'style', 'src', 'href', 'formaction'],
  },
];
