/** Path traversal, file inclusion, command injection and code injection rules. */
import type { RuleDef } from '../types.js';
import { ARGS, ARGS_HEADERS, B64, CMD, N, NC, PATH, RAW_LOWER, STRICT, TEXT, U } from './common.js';

const LFI = ['attack-lfi', 'injection'];
const RFI = ['attack-rfi', 'injection'];
const RCE = ['attack-rce', 'injection'];
const PHP = ['attack-php', 'injection'];
const JAVA = ['attack-java', 'injection'];
const NODE = ['attack-nodejs', 'injection'];
const SSTI = ['attack-ssti', 'injection'];

/** Commands that attacks run after a separator and that are not common words. */
const UNIX_CMDS =
  'cat|ls|id|echo|sleep|whoami|uname|wget|curl|nc|ncat|netcat|bash|sh|zsh|ksh|csh|tcsh|dash|python[23]?|perl|ruby|php|lua|node|nslookup|ping|chmod|chown|chgrp|rm|kill|killall|pkill|ps|netstat|ifconfig|telnet|ssh|scp|ftp|tftp|base64|xxd|awk|gawk|sed|grep|egrep|env|printenv|eval|exec|nohup|crontab|systemctl|useradd|usermod|passwd|dig|whois|uptime|hostname|mkfifo|mknod|socat|tar|unzip|gzip|dd|xargs|timeout|nmap|lwp-download|lwp-request|lynx|w3m|sudo|chroot|openssl|hexdump|getent|lsof|iptables|shred|cmd|powershell|pwsh|ipconfig|systeminfo|tasklist|taskkill|certutil|bitsadmin|wmic|cscript|wscript|mshta|rundll32|regsvr32|findstr|schtasks|icacls|cacls';
/** Commands that are also common words: only right after a separator, without a space. */
const WORD_CMDS = 'mv|cp|touch|find|head|tail|export|more|less|sort|cut|file|stat|which|whereis|locate|last|lastlog|groups|ip|ss|route|arp|at|tee|install|ln|mkdir|rmdir|vi|vim|wc|uniq|od|nl|tac|rev|net|reg|type|dir|ver|del|copy|move|ren|start|call|set|sc|attrib|mount|su|fetch|strings|unset|alias|source|exit|time|test|true|false|read|printf|trap|wait';

export const CODE_RULES: readonly RuleDef[] = [
  // ---- path traversal / LFI ----------------------------------------------------------------
  {
    id: 'lfi-100',
    description: 'Path traversal: ../ or ..\\ (decoded, double-decoded, Unicode) in a parameter, header, cookie or the raw URI',
    tags: LFI, paranoia: 1, severity: 'critical', targets: [...STRICT, 'uri', 'path'], transforms: PATH,
    operator: { type: 'regex', pattern: '(?:^|[/;=:])\\.{2,3}(?:/|;|$)' },
    literals: ['..'],
  },
  {
    id: 'lfi-101',
    description: 'Path traversal in free text: several ../ levels in a row',
    tags: LFI, paranoia: 1, severity: 'critical', targets: TEXT, transforms: PATH,
    operator: { type: 'regex', pattern: '(?:\\.\\./){3}|^(?:\\.\\./){2}|/\\.\\.;/' },
    literals: ['../', '..;'],
  },
  {
    id: 'lfi-110',
    description: 'Path traversal with encodings that decoders disagree on (overlong UTF-8, %u, double encoding, 0x2e)',
    tags: LFI, paranoia: 1, severity: 'critical', targets: [...STRICT, 'uri', 'path'], transforms: RAW_LOWER,
    operator: {
      type: 'phrase',
      phrases: ['%c0%ae', '%c0%af', '%c1%9c', '%c1%1c', '%c0%2e', '%e0%80%ae', '%f0%80%80%ae', '%uff0e', '%u2215', '%u2216', '%u002e', '%u002f', '%u005c', '%252e', '..%255c', '..%252f', '0x2e0x2e', '0x5c0x2e', '0x2e0x5c', '0x2f0x2e', '..%c0%af', '..%c1%9c', '%5c..', '..\\', '\\..', '..;/', '%2e%2e%2f', '%2e%2e/', '..%2f..%2f', '%2e%2e%5c'],
    },
  },
  {
    id: 'lfi-120',
    description: 'Access to well-known sensitive OS and application files (/etc/passwd, win.ini, .ssh/id_rsa, .git/config, ...) in parameters that are not free text',
    tags: LFI, paranoia: 1, severity: 'critical', targets: [...STRICT, 'uri', 'path', 'body'], transforms: PATH,
    operator: {
      type: 'phrase',
      phrases: [
        'etc/passwd', 'etc/shadow', 'etc/group', 'etc/hosts', 'etc/master.passwd', 'etc/issue', 'etc/motd', 'etc/sudoers', 'etc/crontab', 'etc/fstab',
        'etc/security/', 'etc/ssh/', 'etc/mysql/', 'etc/httpd/', 'etc/apache2/', 'etc/nginx/', 'etc/php', 'etc/resolv.conf', 'etc/profile', 'etc/bashrc',
        'etc/environment', 'etc/inittab', 'etc/pwd.db', 'etc/spwd.db', 'etc/gshadow', 'etc/lsb-release', 'etc/redhat-release', 'etc/os-release',
        'proc/self/', 'proc/version', 'proc/cpuinfo', 'proc/meminfo', 'proc/net/', 'proc/mounts', 'proc/sched_debug', 'var/log/', 'var/run/secrets',
        'var/lib/mysql', 'var/mail/', 'var/spool/cron', 'root/.', 'usr/local/apps/', 'apache2/conf', 'httpd.conf', 'apache2.conf', 'php.ini', 'my.cnf',
        'boot.ini', 'win.ini', 'system.ini', 'windows/system32', 'winnt/system32', 'windows/repair/', 'inetpub/', 'autoexec.bat', 'config.sys',
        'system32/config/sam', 'windows/win.ini', 'windows/debug/', 'pagefile.sys', 'hiberfil.sys',
        '.ssh/id_rsa', '.ssh/id_dsa', '.ssh/id_ecdsa', '.ssh/id_ed25519', '.ssh/authorized_keys', '.ssh/known_hosts', '.bash_history', '.zsh_history',
        '.mysql_history', '.psql_history', '.htpasswd', '.htaccess', '.git/config', '.git/head', '.git/index', '.svn/entries', '.hg/hgrc', '.aws/credentials',
        '.docker/config.json', '.kube/config', '.npmrc', '.pgpass', '.netrc', '.bashrc', '.profile', 'wp-config.php', 'web.config', 'web-inf/web.xml',
        'meta-inf/', 'localsettings.php', 'configuration.php', 'config.inc.php', 'id_rsa', 'server.key', 'private.key',
      ],
    },
  },
  {
    id: 'lfi-121',
    description: 'Access to credential and system files in free text (/etc/passwd, /etc/shadow, win.ini, .ssh/id_rsa, ...)',
    tags: LFI, paranoia: 1, severity: 'critical', targets: TEXT, transforms: PATH,
    operator: { type: 'phrase', phrases: ['etc/passwd', 'etc/shadow', 'etc/master.passwd', 'etc/gshadow', 'etc/sudoers', 'proc/self/environ', 'proc/self/cmdline', 'proc/self/fd', 'boot.ini', 'win.ini', 'system32/config/sam', '.ssh/id_rsa', '.ssh/id_dsa', '.ssh/id_ecdsa', '.ssh/id_ed25519', '.aws/credentials', 'wp-config.php', '.htpasswd', 'web-inf/web.xml', 'var/run/secrets/kubernetes.io'] },
  },
  {
    id: 'lfi-130',
    description: 'A NUL byte in a parameter (file name truncation)',
    tags: LFI, paranoia: 1, severity: 'warning', targets: [...ARGS, 'header'], transforms: RAW_LOWER,
    operator: { type: 'contains', value: '\0' },
    literals: ['\0'],
  },
  // ---- remote file inclusion ---------------------------------------------------------------
  {
    id: 'rfi-100',
    description: 'Remote file inclusion: a URL to an IP address in a parameter',
    tags: RFI, paranoia: 1, severity: 'critical', targets: STRICT, transforms: N,
    operator: { type: 'regex', pattern: '^\\s{0,4}(?:file|ftps?|https?)://(?:[^@/]{0,64}@)?\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}' },
    literals: ['://'],
  },
  {
    id: 'rfi-110',
    description: 'Remote file inclusion: a URL ending in ? (truncating the suffix the application appends)',
    tags: RFI, paranoia: 1, severity: 'critical', targets: STRICT, transforms: N,
    operator: { type: 'regex', pattern: '^\\s{0,4}(?:file|ftps?|https?)(?::/[^?]{0,2048})?\\?+$' },
    literals: ['?'],
  },
  {
    id: 'rfi-120',
    description: 'Remote file inclusion: a URL in a parameter whose name is a file-system location (include, path, dir, root, template, ...)',
    tags: RFI, paranoia: 1, severity: 'critical', targets: ['query', 'form', 'cookie'], transforms: N,
    names: '(?:^|[_\\-\\[.])(?:path|dir|root|include|inc|require|template|tpl|module|conf|config|lang|basedir|document_root|docroot|server|appserv_root|gallery_basedir|absolute_path)(?:$|[_\\-\\].])',
    operator: { type: 'regex', pattern: '^\\s{0,4}(?:https?|ftps?|file|php|data|expect|zip|phar|compress\\.zlib)://' },
    literals: ['://'],
  },
  {
    id: 'rfi-130',
    description: 'Remote file inclusion through include()/require() with a URL',
    tags: RFI, paranoia: 1, severity: 'critical', targets: ARGS, transforms: N,
    operator: { type: 'regex', pattern: '\\b(?:include|require)(?:_once)?\\s{0,4}\\(?\\s{0,4}["\']?(?:https?|ftps?|php|data|expect)://' },
    literals: ['include', 'require'],
  },
  // ---- OS command injection ----------------------------------------------------------------
  {
    id: 'rce-100',
    description: 'OS command injection: a command separator (; | & || && newline backtick $( ) followed by a command',
    tags: RCE, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path'], transforms: CMD,
    operator: { type: 'regex', pattern: `(?:[;&|\\n\`]|\\$\\()\\s{0,8}(?:(?:/[a-z0-9._-]{1,32}){0,4}/|[a-z]:[\\\\/](?:[a-z0-9._-]{1,32}[\\\\/]){0,4})?(?:${UNIX_CMDS})(?:\\.exe)?(?:$|[\\s;&|<>\`)}]|/[a-z])` },
    literals: [';', '&', '|', '\n', '`', '$('],
  },
  {
    id: 'rce-102',
    description: 'OS command injection: a separator immediately followed by a command that is also a common word (;type, |more, `set`)',
    tags: RCE, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path'], transforms: CMD,
    operator: { type: 'regex', pattern: `(?:[;|\\n\`]|&&|\\$\\()(?:${WORD_CMDS})(?:$|[\\s;&|<>\`)}])` },
    literals: [';', '|', '\n', '`', '&&', '$('],
  },
  {
    id: 'rce-101',
    description: 'OS command injection in free text: a value that starts with a command separator (; | && || ` $( ) followed by a command',
    tags: RCE, paranoia: 1, severity: 'critical', targets: TEXT, transforms: CMD,
    operator: { type: 'regex', pattern: `^\\s{0,4}["']?\\s{0,4}(?:[;|\`&]|\\|\\||\\$\\()\\s{0,8}(?:(?:/[a-z0-9._-]{1,32}){0,4}/)?(?:${UNIX_CMDS})(?:$|[\\s;&|<>\`)])` },
    literals: [';', '&', '|', '`', '$('],
  },
  {
    id: 'rce-103',
    description: 'Windows command injection: a separator and a built-in command with a Windows path or %VARIABLE% argument (| type %SystemDrive%\\x, & dir c:\\)',
    tags: RCE, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path', 'body'], transforms: U,
    operator: { type: 'regex', pattern: '(?:^|[;&|`(])\\s{0,8}(?:type|dir|copy|del|move|ren|start|set|call|net|echo|more|find|findstr|attrib|icacls|rd|md|mkdir|xcopy|robocopy)\\s{1,8}(?:/[a-z]\\s{1,8})?(?:%[a-z_]{1,32}%|[a-z]:\\\\|\\\\\\\\[a-z0-9])' },
    literals: ['%', ':\\', '\\\\'],
  },
  {
    id: 'rce-110',
    description: 'OS command injection: a value that starts with a command and a shell-like argument (path, option, pipe, redirect)',
    tags: RCE, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path'], transforms: CMD,
    operator: { type: 'regex', pattern: `^\\s{0,8}(?:(?:/[a-z0-9._-]{1,32}){0,4}/)?(?:${UNIX_CMDS})(?:\\.exe)?\\s{1,8}(?:-{1,2}[a-z]|/[a-z]|[a-z]:\\\\|\\$|>|<|\\||\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}|[a-z0-9._-]{1,64}\\s{0,4}[|>;])` },
    literals: [' ', '\t'],
  },
  {
    id: 'rce-120',
    description: 'OS command injection: shell expansion and evasion (${IFS}, $(...), backticks with a command, {cmd,arg} brace expansion, wildcards in /et?/pa*wd)',
    tags: RCE, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path'], transforms: N,
    operator: { type: 'regex', pattern: '\\$\\{?ifs\\b|\\$\\(\\s{0,4}[a-z/]|`\\s{0,4}[a-z/][a-z0-9 ./-]{0,64}`|\\{\\s{0,4}[a-z/]{2,16},[^}]{1,64}\\}|(?:^|[\\s;|&`])/(?:[a-z?*]{1,8}/){1,4}[a-z]{0,8}[?*][a-z?*]{0,8}(?:$|[\\s/;|&])|\\$\\{[a-z_]{1,16}(?::[^}]{0,32})?\\}[a-z/]|\\b[a-z]{1,8}\\$@[a-z]|\\b(?:c\\$@at|w\\$@get)' },
    literals: ['$', '`', '{', '?', '*'],
  },
  {
    id: 'rce-121',
    description: 'OS command injection in free text: $(command) or ${IFS}',
    tags: RCE, paranoia: 1, severity: 'critical', targets: TEXT, transforms: N,
    operator: { type: 'regex', pattern: `\\$\\{?ifs\\b|\\$\\(\\s{0,4}(?:${UNIX_CMDS})\\b` },
    literals: ['$'],
  },
  {
    id: 'rce-130',
    description: 'OS command injection: reverse-shell and download-and-run idioms (/dev/tcp/, bash -i, nc -e, mkfifo /tmp, certutil -urlcache, | sh)',
    tags: RCE, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: CMD,
    operator: { type: 'phrase', phrases: ['/dev/tcp/', '/dev/udp/', 'bash -i', 'sh -i', 'nc -e', 'nc -c', 'ncat -e', 'nc -lvp', 'mkfifo /tmp', '0<&196', 'exec 5<>', 'xterm -display', 'certutil -urlcache', 'bitsadmin /transfer', 'powershell -enc', 'powershell -e ', 'powershell -nop', 'powershell -w hidden', '| sh', '|sh', '| bash', '|bash', 'socat exec:', 'socat tcp'] },
  },
  {
    id: 'rce-132',
    description: 'OS command injection: netcat/socat reverse shells with the options between (nc HOST PORT -e /bin/sh)',
    tags: RCE, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: CMD,
    operator: { type: 'regex', pattern: '\\b(?:nc|ncat|netcat|socat)\\s[^|;&\\n]{0,80}\\s-[ec]\\s{0,4}(?:/bin/|/usr/bin/|cmd|powershell|sh\\b|bash\\b)|\\s-e\\s{0,4}/bin/(?:ba|z|k|da)?sh\\b' },
    literals: ['nc ', 'ncat ', 'netcat ', 'socat ', '-e /'],
  },
  {
    id: 'rce-131',
    description: 'OS command injection: shells and interpreters invoked with code (/bin/sh, python -c, perl -e, cmd /c, wget http) in parameters that are not free text',
    tags: RCE, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path', 'body'], transforms: CMD,
    operator: { type: 'phrase', phrases: ['/bin/sh', '/bin/bash', '/bin/zsh', '/bin/ksh', '/bin/csh', '/bin/dash', '/bin/busybox', '/usr/bin/env', '/usr/bin/perl', '/usr/bin/python', 'python -c', 'python3 -c', 'perl -e', 'ruby -e', 'php -r', 'lua -e', 'pwsh -c', 'powershell -c', 'cmd /c', 'cmd.exe', 'cmd /k', 'command.com', 'mshta http', 'rundll32 ', 'regsvr32 /s', 'wget http', 'curl http', 'wget -o', 'curl -o', 'telnet ', 'sh -c', 'bash -c', '>/dev/null', '2>&1', 'net user', 'net localgroup', 'net1 user', 'whoami /', 'net view', 'net share', 'reg query', 'reg add', 'vssadmin ', 'wevtutil '] },
  },
  {
    id: 'rce-140',
    description: 'Shellshock: a function definition () { at the start of a value',
    tags: RCE, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'uri'], transforms: N,
    operator: { type: 'regex', pattern: '^\\s{0,4}\\(\\s{0,4}\\)\\s{0,4}\\{' },
    literals: ['('],
  },
  {
    id: 'rce-150',
    description: 'Windows batch commands: FOR ... IN (...) DO, IF [NOT] EXIST/DEFINED/ERRORLEVEL/comparison',
    tags: RCE, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path'], transforms: U,
    operator: { type: 'regex', pattern: '(?:^|[&|;(]\\s?)(?:for(?:\\s?/[a-z](?:\\s(?:"[^"]{0,64}"|[a-z]:[^\\s]{0,128}))?){0,4}\\s%{1,2}[^\\s]{1,64}\\sin\\s?\\(|if\\s?(?:/i\\s?)?(?:not\\s)?(?:exist\\s|defined\\s|errorlevel\\s|cmdextversion\\s|(?:"[^"]{0,64}"|[^\\s]{1,64})\\s?(?:==|\\s(?:equ|neq|lss|leq|gtr|geq)\\s)|\\(\\d{1,10}\\s(?:equ|neq|lss|leq|gtr|geq)\\s))' },
    literals: ['for', 'if'],
  },
  {
    id: 'rce-160',
    description: 'PowerShell cmdlets and idioms (Invoke-Expression, IEX, DownloadString, -EncodedCommand, Start-Process)',
    tags: RCE, paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: N,
    operator: { type: 'regex', pattern: '\\b(?:invoke-(?:expression|webrequest|command|restmethod|item|wmimethod|shellcode|mimikatz)|iex\\s{0,4}\\(|downloadstring\\s{0,4}\\(|downloadfile\\s{0,4}\\(|new-object\\s{1,4}(?:system\\.)?net\\.webclient|start-process|set-executionpolicy|-encodedcommand|frombase64string\\s{0,4}\\(|get-wmiobject|add-mppreference|\\[system\\.(?:reflection|convert|text\\.encoding)\\])' },
    literals: ['invoke-', 'iex', 'download', 'new-object', 'start-process', 'executionpolicy', 'encodedcommand', 'frombase64string', 'get-wmiobject', 'add-mppreference', '[system.'],
  },
  {
    id: 'rce-170',
    description: 'Restricted upload file names (.htaccess, web.config, .user.ini, server-side script extensions), in multipart file names and X-Filename-style headers',
    tags: RCE, paranoia: 1, severity: 'critical', targets: ['file_name', 'header'], transforms: N,
    names: '^(?:x[-_.]?)?(?:file[-_.]?name|upload[-_.]?name|file)$|^[^-]{0,64}$',
    operator: { type: 'regex', pattern: '(?:^|/)(?:\\.htaccess|\\.htpasswd|web\\.config|\\.user\\.ini|php\\.ini|\\.env)[.\\s]{0,64}$|\\.(?:php\\d{0,4}|phtml|phar|pht|phps|jsp|jspx|asp|aspx|ashx|asmx|cer|cgi|pl|sh|exe|bat|cmd|dll|vbs|war)[.\\s]{0,64}$' },
    literals: ['.'],
  },
  // ---- PHP ---------------------------------------------------------------------------------
  {
    id: 'php-100',
    description: 'PHP code: an opening tag (<?php, <?=, <? followed by code)',
    tags: PHP, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: N,
    operator: { type: 'regex', pattern: '<\\?(?:php\\b|=|\\s{0,4}(?:exec|system|eval|echo|print|passthru|shell_exec|include|require|assert|\\$))|\\?>\\s{0,4}$' },
    literals: ['<?', '?>'],
  },
  {
    id: 'php-110',
    description: 'PHP stream wrappers (php://, phar://, zip://, expect://, data://, glob://, compress.zlib://)',
    tags: PHP, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: N,
    operator: { type: 'regex', pattern: '\\b(?:php|phar|zip|expect|glob|compress\\.(?:zlib|bzip2)|ogg|rar|ssh2\\.(?:shell|exec|tunnel|sftp|scp))://|\\bdata://|\\bdata:(?:text/(?:plain|html|x-php|php)|application/(?:x-httpd-php|x-php))[;,]' },
    literals: ['://', 'data:'],
  },
  {
    id: 'php-120',
    description: 'PHP superglobals and configuration directives ($_GET, $_POST, $_SERVER, $GLOBALS, auto_prepend_file, allow_url_include)',
    tags: PHP, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: N,
    operator: { type: 'regex', pattern: '\\$(?:_(?:get|post|cookie|request|server|files|env|session)|globals|http_(?:get|post|cookie|server|env|session)_vars|http_raw_post_data)\\b|\\b(?:auto_prepend_file|auto_append_file|allow_url_include|allow_url_fopen|disable_functions|open_basedir|safe_mode|suhosin\\.[a-z_.]{1,32}|session\\.auto_start|php_value|php_admin_value)\\b|\\b(?:session|opcache|zend|mbstring|assert|pcre|xdebug|user_ini|phar|sendmail_path|mail)\\.[a-z0-9_]{2,40}\\s{0,4}=|\\b(?:display_errors|error_reporting|file_uploads|magic_quotes_gpc|register_globals|short_open_tag|upload_tmp_dir|include_path|enable_dl|expose_php|memory_limit|max_execution_time|error_log|log_errors|sendmail_path)\\s{0,4}=' },
    literals: ['$', 'auto_', 'allow_url', 'disable_functions', 'open_basedir', 'safe_mode', 'suhosin', 'session.', 'php_value', 'php_admin_value', '='],
  },
  {
    id: 'php-130',
    description: 'PHP high-risk function names with an underscore (base64_decode, shell_exec, call_user_func, ...) anywhere, in parameters that are not free text',
    tags: PHP, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path'], transforms: N,
    operator: { type: 'phrase', phrases: ['base64_decode', 'base64_encode', 'shell_exec', 'proc_open', 'proc_close', 'proc_get_status', 'proc_nice', 'proc_terminate', 'pcntl_exec', 'pcntl_fork', 'str_rot13', 'convert_uudecode', 'convert_uuencode', 'call_user_func', 'call_user_func_array', 'create_function', 'stream_socket_client', 'stream_socket_server', 'posix_getpwuid', 'posix_getpwnam', 'posix_kill', 'posix_mkfifo', 'posix_setpgid', 'posix_setsid', 'posix_setuid', 'posix_uname', 'posix_getegid', 'posix_geteuid', 'posix_getgid', 'posix_getuid', 'posix_getlogin', 'php_uname', 'get_defined_vars', 'get_defined_functions', 'get_defined_constants', 'ini_set', 'ini_get_all', 'ini_restore', 'mb_ereg_replace', 'preg_replace_callback', 'register_shutdown_function', 'register_tick_function', 'set_error_handler', 'set_exception_handler', 'array_map', 'array_filter', 'array_walk', 'move_uploaded_file', 'file_put_contents', 'file_get_contents', 'highlight_file', 'show_source', 'php_strip_whitespace', 'apache_setenv', 'var_dump', 'print_r', 'var_export', 'debug_zval_dump', 'get_cfg_var', 'header_register_callback', 'assert_options', 'str_repeat', 'ob_start', 'parse_str', 'simplexml_load_file', 'stream_get_contents', 'file_exists', 'is_writable', 'is_readable'] },
  },
  {
    id: 'php-132',
    description: 'Other PHP high-risk function names (passthru, popen, gzinflate, phpinfo, ...) as words, in parameters that are not free text',
    tags: PHP, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path'], transforms: N,
    operator: { type: 'phrase', wordBoundary: true, phrases: ['popen', 'passthru', 'gzinflate', 'gzuncompress', 'gzdecode', 'gzdeflate', 'gzcompress', 'gzencode', 'bzdecompress', 'bzcompress', 'fsockopen', 'pfsockopen', 'phpinfo', 'usort', 'uasort', 'uksort', 'fputs', 'fwrite', 'fopen', 'readfile', 'getenv', 'putenv', 'escapeshellarg', 'escapeshellcmd', 'unserialize', 'getmypid', 'getmyuid', 'getegid', 'geteuid', 'getcwd', 'chroot', 'lchown', 'chgrp', 'readlink', 'gethostbyname', 'strrev', 'hex2bin', 'bin2hex', 'filemtime', 'fileatime', 'filectime', 'tmpfile', 'tempnam'] },
  },
  {
    id: 'php-131',
    description: 'PHP shell and obfuscation function names in free text',
    tags: PHP, paranoia: 1, severity: 'critical', targets: TEXT, transforms: N,
    operator: { type: 'phrase', wordBoundary: true, phrases: ['shell_exec', 'passthru', 'proc_open', 'pcntl_exec', 'gzinflate', 'str_rot13', 'create_function', 'phpinfo', 'fsockopen', 'php_uname', 'posix_getpwuid', 'get_defined_vars', 'convert_uudecode', 'gzuncompress', 'bzdecompress'] },
  },
  {
    id: 'php-140',
    description: 'PHP function call: a code-execution or file function followed by ( (comments and whitespace allowed)',
    tags: PHP, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path', 'body'], transforms: NC,
    operator: { type: 'regex', pattern: '(?:^|[^a-z0-9_>$.])(?:eval|assert|system|exec|shell_exec|curl_init|curl_exec|curl_multi_exec|fsockopen|stream_socket_client|passthru|popen|proc_open|include|include_once|require|require_once|preg_replace|create_function|call_user_func|file_get_contents|file_put_contents|file|fopen|fread|fwrite|fputs|readfile|unlink|chr|ord|strrev|print_r|var_dump|base64_decode|gzinflate|str_rot13|phpinfo|file_exists|filemtime|print|echo|printf|sprintf|die|exit|move_uploaded_file|copy|rename|is_file|glob|scandir|opendir|readdir|ini_set|getenv|header|setcookie|mail|ob_start|array_map|usort|constant|define|compact|extract)\\s{0,8}\\(\\s{0,8}(?:\\$|["\'`]|\\)|[a-z_]{1,32}\\s{0,4}\\(|\\d|\\s{0,8}$|$|[a-z_]{1,32}\\s{0,4}\\))' },
    literals: ['('],
  },
  {
    id: 'php-150',
    description: 'PHP variable function calls and obfuscation ($x(...), ${...}(...), $x[...](...), (sy.(st).em)(...), [system][0](...))',
    tags: PHP, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path'], transforms: NC,
    operator: { type: 'regex', pattern: '\\$[a-z_][a-z0-9_]{0,31}\\s{0,4}[\\[{][^()]{0,128}[\\]}]\\s{0,4}\\(|\\$[a-z_][a-z0-9_]{0,31}(?:\\s|#[^\\[\\]()]{0,64}|//[^\\[\\]()]{0,64}|\\[[^\\]()]{0,64}\\]){1,8}\\(|\\$\\s{0,4}[\\[{][^(){}$]{0,64}[\\]}]\\s{0,4}\\(|\\$\\s{0,4}\\{[^}]{1,64}\\}\\s{0,4}(?:\\[[^\\]]{0,64}\\]\\s{0,4})?\\(|\\$[a-z_][a-z0-9_]{0,31}\\s{0,4}\\(|(?:["\'][a-z_]{2,32}["\']|\\b[a-z_]{2,32}\\))\\s{0,4}\\(\\s{0,8}["\'$a-z_]|\\$\\{[^}]{1,64}\\}\\s{0,4}\\(|\\)\\s{0,4}\\(\\s{0,4}["\'][a-z]{1,32}["\']\\s{0,4}\\)|\\]\\s{0,4}(?:\\[\\s{0,4}\\d\\s{0,4}\\]|\\{\\s{0,4}\\d\\s{0,4}\\})\\s{0,4}\\(|\\[\\s{0,4}\\[?\\s{0,4}["\']?(?:sys|system|exec|eval|assert|passthru)' },
    literals: ['$', ')', ']', '['],
  },
  {
    id: 'php-160',
    description: 'PHP serialized object or array (O:8:"stdClass":1:{...}, a:2:{...})',
    tags: ['attack-php', 'attack-deserialization', 'injection'], paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: N,
    operator: { type: 'regex', pattern: '(?:^|[;{\\s])[oc]:\\+?\\d{1,6}:"[a-z0-9_\\\\]{1,128}":\\+?\\d{1,6}:\\{|^a:\\d{1,6}:\\{(?:[isbdn]:|\\})' },
    literals: [':'],
  },
  // ---- Java --------------------------------------------------------------------------------
  {
    id: 'java-100',
    description: 'Java classes used by deserialization gadgets and expression-language exploits (java.lang.Runtime, ProcessBuilder, ...), in parameters that are not free text',
    tags: JAVA, paranoia: 1, severity: 'critical', targets: [...STRICT, 'path', 'uri', 'body'], transforms: N,
    operator: {
      type: 'phrase',
      phrases: [
        'org.omg.', 'java.runtime', 'java.processbuilder', 'org.apache.commons',
        'java.lang.runtime', 'java.lang.processbuilder', 'java.lang.process', 'java.lang.system', 'java.lang.class', 'java.lang.reflect', 'java.lang.thread', 'java.lang.classloader',
        'java.lang.object', 'java.lang.string', 'java.io.', 'java.net.', 'java.nio.', 'java.util.', 'java.beans.', 'java.rmi.', 'java.security.', 'java.sql.', 'java.awt.', 'javax.',
        'javassist', 'com.sun.', 'sun.misc.', 'sun.reflect.', 'sun.rmi.', 'jdk.', 'org.apache.commons.collections', 'org.apache.commons.beanutils', 'org.apache.xalan',
        'org.apache.xbean', 'org.apache.myfaces', 'org.apache.wicket', 'org.apache.tomcat', 'org.apache.catalina', 'org.apache.naming', 'org.apache.ibatis',
        'org.apache.log4j', 'org.apache.logging.log4j', 'org.apache.openjpa', 'org.apache.axis', 'org.apache.batik', 'org.apache.click', 'org.apache.cxf',
        'org.apache.shiro', 'org.apache.struts', 'org.springframework.', 'org.hibernate.', 'org.codehaus.groovy', 'groovy.lang', 'groovy.util',
        'org.mozilla.javascript', 'org.python.', 'org.jboss.', 'org.jruby', 'org.mvel2', 'org.aspectj', 'org.slf4j.ext', 'org.eclipse.jetty', 'org.yaml.snakeyaml',
        'com.mchange', 'com.opensymphony', 'ognl.', 'clojure.', 'bsh.', 'net.sf.json', 'net.sf.ehcache', 'com.mysql.jdbc', 'oracle.jdbc', 'com.zaxxer.hikari',
        'org.apache.ignite', 'org.apache.tapestry', 'org.apache.commons.configuration', 'org.apache.commons.fileupload', 'org.apache.commons.io',
        'org.apache.velocity', 'freemarker.template', 'org.thymeleaf', 'com.alibaba.fastjson', 'com.fasterxml.jackson', 'com.thoughtworks.xstream',
        'org.apache.commons.dbcp', 'org.apache.tomcat.dbcp', 'com.rometools', 'com.sun.rowset', 'com.sun.org.apache', 'org.apache.xpath', 'br.com.anteros',
        'ch.qos.logback', 'org.apache.hadoop', 'org.apache.commons.jexl', 'org.jdom', 'org.dom4j', 'org.apache.bcel', 'com.caucho', 'org.apache.aries',
        'getruntime', 'processbuilder', 'classloader', 'getclass', 'forname', 'newinstance', 'getmethod', 'getdeclaredmethod', 'getdeclaredfield', 'invoke(',
        '.exec(', 'runtime.exec', 'process.waitfor', 'getinputstream', 'scriptengine', 'defineclass', 'unsafe.allocateinstance', '@java.lang', 'java.lang',
      ],
    },
  },
  {
    id: 'java-101',
    description: 'Java gadget classes and reflection idioms in free text',
    tags: JAVA, paranoia: 1, severity: 'critical', targets: TEXT, transforms: N,
    operator: {
      type: 'phrase',
      phrases: ['java.lang.runtime', 'java.lang.processbuilder', 'getruntime().exec', 'runtime.getruntime', 'org.apache.commons.collections.functors', 'org.apache.commons.collections4.functors', 'org.apache.xalan.xsltc.trax', 'com.sun.rowset.jdbcrowsetimpl', 'org.codehaus.groovy.runtime', 'javax.script.scriptenginemanager', 'java.beans.xmldecoder', 'com.sun.org.apache.xalan', 'ognl.ognlcontext', 'javax.naming.initialcontext', 'sun.misc.unsafe', 'java.net.urlclassloader', 'org.springframework.context.support.classpathxmlapplicationcontext'],
    },
  },
  {
    id: 'java-102',
    description: 'A free-text value that is exactly a fully qualified Java class name (polymorphic type confusion)',
    tags: JAVA, paranoia: 1, severity: 'critical', targets: TEXT, transforms: N,
    operator: { type: 'regex', pattern: '^\\s{0,8}(?:java|javax|jdk|sun|com\\.sun|org\\.apache|org\\.omg|com\\.opensymphony|org\\.springframework|org\\.codehaus|org\\.hibernate|org\\.jboss|com\\.mchange|com\\.alibaba|com\\.fasterxml|groovy|ognl|bsh|clojure)\\.[a-z0-9_.$]{1,128}\\s{0,8}$' },
    literals: ['.'],
  },
  {
    id: 'java-105',
    description: 'Java deserialization gadget names (commons-collections transformers and factories, TemplatesImpl, ...) and dotted references to Runtime/ProcessBuilder',
    tags: JAVA, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path', 'uri'], transforms: N,
    operator: { type: 'regex', pattern: '\\b(?:clonetransformer|forclosure|instantiatefactory|instantiatetransformer|invokertransformer|prototypeclonefactory|prototypeserializationfactory|whileclosure|chainedtransformer|constanttransformer|lazymap|transformedmap|templatesimpl|badattributevalueexpexception|annotationinvocationhandler|priorityqueue\\.comparator|beancomparator|jdbcrowsetimpl|xmldecoder)\\b|\\bjava\\.[a-z0-9_.$]{0,64}(?:runtime|processbuilder)\\b|\\b(?:runtime|processbuilder)\\.[a-z_$][a-z0-9_.$]{2,64}' },
    literals: ['transformer', 'closure', 'factory', 'lazymap', 'transformedmap', 'templatesimpl', 'badattributevalueexpexception', 'annotationinvocationhandler', 'priorityqueue', 'beancomparator', 'jdbcrowsetimpl', 'xmldecoder', 'runtime', 'processbuilder'],
  },
  {
    id: 'java-110',
    description: 'Java serialized object (aced0005 / rO0AB magic bytes, raw or base64)',
    tags: ['attack-java', 'attack-deserialization', 'injection'], paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: RAW_LOWER,
    operator: { type: 'regex', pattern: '(?:^|[^a-z0-9+/])(?:ro0ab|aced0005|h4sia|kztaau|cs7qaf)|\\xac\\xed\\x00\\x05|\\\\xac\\\\xed' },
    literals: ['ro0ab', 'aced0005', 'h4sia', 'kztaau', 'cs7qaf', '\xac\xed', '\\xac'],
  },
  {
    id: 'java-115',
    description: 'Java class names hidden in a base64 value',
    tags: ['attack-java', 'injection'], paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: B64,
    operator: {
      type: 'phrase',
      phrases: ['java.lang', 'java.io', 'java.util', 'java.net', 'javax.', 'com.sun.', 'sun.misc', 'org.apache.', 'org.springframework', 'org.codehaus', 'getruntime', 'processbuilder', 'classloader', 'com.opensymphony', 'groovy.', 'javassist', 'ognl', 'runtime', '\xac\xed\x00\x05', 'java/lang', 'bsh.', 'clojure', 'clonetransformer', 'forclosure', 'instantiatefactory', 'instantiatetransformer', 'invokertransformer', 'prototypeclonefactory', 'prototypeserializationfactory', 'whileclosure', 'chainedtransformer', 'constanttransformer', 'lazymap', 'templatesimpl'],
    },
  },
  {
    id: 'java-120',
    description: 'Java expression language / OGNL / SpEL injection (${...}, %{...}, #{...} with class access or method calls; Struts OGNL)',
    tags: JAVA, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path', 'uri', 'content_type'], transforms: N,
    operator: { type: 'regex', pattern: '[$%#]\\{[^{}]{0,256}(?:\\.getclass\\b|\\.forname\\b|\\bnew\\s{1,4}[a-z_.]{1,64}\\(|@[a-z_.]{1,64}@|\\bt\\s{0,4}\\(\\s{0,4}java|_memberaccess|#context|#_memberaccess|\\.exec\\s{0,4}\\(|ognlcontext|getruntime|#request|#response|#session|#application|#parameters|#attr)|\\(#[a-z_]{1,32}\\s{0,4}=|#_memberaccess|@ognl\\.|\\bt\\(java\\.lang' },
    literals: ['{', '#', '@ognl', 't(java'],
  },
  {
    id: 'java-130',
    description: 'Java class names as words (Runtime, ProcessBuilder, ClassLoader) followed by a member access, in non-free-text parameters',
    tags: JAVA, paranoia: 1, severity: 'critical', targets: STRICT, transforms: N,
    operator: { type: 'regex', pattern: '\\b(?:runtime|processbuilder|classloader|system|class|thread)\\s{0,4}\\.\\s{0,4}(?:getruntime|exec|start|forname|getproperty|setproperty|exit|loadclass|currentthread|getclassloader)\\b' },
    literals: ['.'],
  },
  {
    id: 'java-140',
    description: 'Log4Shell: ${jndi:...} and other lookups, including nested obfuscation (${${lower:j}ndi:...})',
    tags: ['attack-java', 'attack-log4j', 'injection'], paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path', 'uri', 'header_name', 'content_type'], transforms: N,
    operator: { type: 'detect', detector: 'log4shell' },
    literals: ['${'],
  },
  {
    id: 'java-150',
    description: 'fastjson / Jackson / .NET polymorphic type markers naming a class (@type, $type, "@class")',
    tags: ['attack-deserialization', 'injection'], paranoia: 1, severity: 'critical', targets: ['json_key', ...STRICT], transforms: N,
    operator: { type: 'regex', pattern: '^(?:@type|\\$type|@class|__type|javaclass|@c)$' },
    literals: ['type', 'class', '@c'],
  },
  {
    id: 'java-155',
    description: 'A type marker value naming a gadget class (com.sun.rowset.JdbcRowSetImpl, System.Windows.Data.ObjectDataProvider, ...)',
    tags: ['attack-deserialization', 'injection'], paranoia: 1, severity: 'critical', targets: ['json', ...STRICT, 'body'], transforms: N,
    operator: { type: 'regex', pattern: '\\b(?:com\\.sun\\.rowset\\.jdbcrowsetimpl|system\\.windows\\.data\\.objectdataprovider|system\\.diagnostics\\.process|system\\.management\\.automation|system\\.configuration\\.install\\.assemblyinstaller|microsoft\\.visualstudio\\.text\\.formatting|system\\.web\\.security\\.antixss|system\\.data\\.services\\.internal|system\\.identitymodel\\.tokens|system\\.windows\\.forms\\.bindingsource|typeconfusedelegate|windowsidentity|activitysurrogateselector|textformattingrunproperties|psobject|objectstateformatter|losformatter|binaryformatter|soapformatter|netdatacontractserializer)\\b' },
    literals: ['com.sun.rowset', 'system.', 'microsoft.', 'typeconfusedelegate', 'windowsidentity', 'activitysurrogateselector', 'textformattingrunproperties', 'psobject', 'formatter', 'netdatacontractserializer'],
  },
  {
    id: 'net-100',
    description: '.NET serialized payloads (BinaryFormatter base64 AAEAAAD/////, ViewState gadgets, __VIEWSTATE with type names)',
    tags: ['attack-deserialization', 'injection'], paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: RAW_LOWER,
    operator: { type: 'regex', pattern: '^aaeaaad/////|\\bobjectdataprovider\\b|\\bmethodname\\s{0,4}=\\s{0,4}["\']?start\\b' },
    literals: ['aaeaaad', 'objectdataprovider', 'methodname'],
  },
  // ---- Node.js / JavaScript ----------------------------------------------------------------
  {
    id: 'node-100',
    description: 'Node.js code injection: node-serialize IIFE marker (_$$ND_FUNC$$_), require(child_process), process.mainModule, constructor.constructor',
    tags: NODE, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: N,
    operator: { type: 'regex', pattern: '_\\$\\$nd_func\\$\\$_|\\b__js_function\\b|\\brequire\\s{0,4}\\(\\s{0,4}["\'`](?:child_process|fs|net|vm|os|http|process|module)["\'`]|\\bprocess\\s{0,4}\\.\\s{0,4}(?:mainmodule|binding|dlopen|kill|exit|env\\s{0,4}\\[)|\\bconstructor\\s{0,4}\\.\\s{0,4}constructor\\b|\\bchild_process\\b|\\.(?:execsync|spawnsync|execfilesync)\\s{0,4}\\(|\\bnew\\s{1,4}function\\s{0,4}\\(|\\beval\\s{0,4}\\(\\s{0,4}(?:string\\.fromcharcode|atob|unescape|buffer)|\\bmodule\\s{0,4}\\.\\s{0,4}exports\\s{0,4}=|\\bfunction\\s{0,4}\\(\\s{0,4}\\)\\s{0,4}\\{|\\bglobal\\s{0,4}\\.\\s{0,4}process\\b' },
    literals: ['_$$nd_func$$_', '__js_function', 'require', 'process', 'constructor', 'child_process', 'sync', 'function', 'eval', 'module', 'global'],
  },
  {
    id: 'node-110',
    description: 'Node.js injection markers hidden in base64',
    tags: NODE, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: B64,
    operator: { type: 'phrase', phrases: ['_$$nd_func$$_', '__js_function', 'child_process', 'require(', 'process.mainmodule', 'constructor.constructor', '<script', 'eval(', 'function('] },
  },
  {
    id: 'pp-100',
    description: 'Prototype pollution: __proto__, constructor.prototype or constructor[prototype] in a key, parameter name or path',
    tags: ['attack-prototype-pollution', 'injection'], paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path', 'uri'], transforms: N,
    operator: { type: 'regex', pattern: '__proto__|\\bconstructor\\s{0,4}(?:\\.|\\[\\s{0,4}["\']?|/)\\s{0,4}prototype\\b|^prototype$' },
    literals: ['__proto__', 'prototype'],
    injection: false,
  },
  // ---- template injection ------------------------------------------------------------------
  {
    id: 'ssti-100',
    description: 'Server-side template injection: template expressions that reach classes, globals or evaluate arithmetic ({{7*7}}, {{config}}, ${7*7}, <%= %>, #{...})',
    tags: SSTI, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: N,
    operator: { type: 'regex', pattern: '\\{\\{[^{}]{0,128}(?:__class__|__mro__|__subclasses__|__globals__|__builtins__|__import__|__init__|\\bconfig\\b|\\bself\\b|\\brequest\\b|\\blipsum\\b|\\bcycler\\b|\\bjoiner\\b|\\bnamespace\\b|\\bget_flashed_messages\\b|\\burl_for\\b|\\bos\\.|\\bpopen\\b|\\b_self\\b|\\benv\\b|\\[\\s{0,4}["\']__)|\\{\\{\\s{0,4}\\d{1,6}\\s{0,4}[*+/-]\\s{0,4}["\']?\\d{1,6}|\\$\\{\\s{0,4}\\d{1,6}\\s{0,4}[*+/-]\\s{0,4}\\d{1,6}\\s{0,4}\\}|#\\{\\s{0,4}\\d{1,6}\\s{0,4}[*+/-]\\s{0,4}\\d{1,6}\\s{0,4}\\}|<%=?\\s{0,4}(?:\\d{1,6}\\s{0,4}[*+]|system|exec|`|runtime|request|response|eval|require|process|file\\.)|\\{%\\s{0,4}(?:import|include|set|debug|load|extends|macro|for\\s[^%]{0,64}__|if\\s[^%]{0,64}__)|\\$\\{\\s{0,4}(?:freemarker|\\.now|\\.vars|product\\.getclass|self\\.|T\\s{0,4}\\()|<#assign|\\?new\\(\\)|\\bfreemarker\\.template\\.utility|#set\\s{0,4}\\(\\s{0,4}\\$|\\$class\\.inspect|\\{php\\}|\\{\\$smarty|\\{system\\(|\\{\\{\\s{0,4}range\\s{0,4}\\(' },
    literals: ['{{', '${', '#{', '<%', '{%', '<#assign', '?new()', 'freemarker', '#set', '$class', '{php}', '{$smarty', '{system('],
  },
];
