/** SQL and NoSQL injection rules. */
import type { RuleDef } from '../types.js';
import { ARGS_HEADERS, N, NAMES, NC, STRICT } from './common.js';

const T = ['attack-sqli', 'injection'];

/** Characters or words without which no SQL injection shape exists (prefilter of the tokenizer). */
const SQL_TRIGGERS = ["'", '"', '`', ';', '(', '=', '<', '>', '|', '&', '#', '--', '/*', '@@', 'union', 'order', 'group', 'having', 'limit', 'procedure', 'into', 'select', ' or ', ' and ', ' xor ', 'waitfor', 'exec'];

export const SQLI_RULES: readonly RuleDef[] = [
  {
    id: 'sqli-100',
    description: 'SQL injection: the value, read as SQL, has an injection shape (string break-out, tautology, UNION SELECT, stacked statement, time-delay function, system variable)',
    tags: T, paranoia: 1, severity: 'critical', targets: [...ARGS_HEADERS, 'path'], transforms: N,
    operator: { type: 'detect', detector: 'sqli' }, literals: SQL_TRIGGERS,
  },
  {
    id: 'sqli-101',
    description: 'SQL injection after comment removal (UN/**/ION SEL/**/ECT)',
    tags: T, paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: NC,
    operator: { type: 'detect', detector: 'sqli' }, literals: ['/*'],
  },
  {
    id: 'sqli-110',
    description: 'SQL statement shapes that code snippets can also have (subquery, whole statement, statement then comment)',
    tags: T, paranoia: 1, severity: 'warning', targets: [...ARGS_HEADERS, 'path'], transforms: N,
    operator: { type: 'detect', detector: 'sqli-weak' }, literals: ['select', 'insert', 'update', 'delete', 'drop', 'create', 'alter', 'exec', 'declare', 'truncate', 'waitfor', 'shutdown', '(', "'", '"'],
  },
  {
    id: 'sqli-120',
    description: 'SQL time-delay, file or out-of-band functions and well-known injection helpers',
    tags: T, paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: NC,
    operator: {
      type: 'regex',
      pattern: '\\b(?:sleep\\(\\s{0,4}[\\d@(]|benchmark\\(\\s{0,4}\\d|pg_sleep\\(|waitfor\\s{1,8}(?:delay|time)\\s{0,4}[\'"\\d]|load_file\\(|into\\s{1,8}(?:out|dump)file\\b|xp_cmdshell|sp_executesql|sp_oacreate|sp_makewebtask|xp_regread|xp_dirtree|xp_fileexist|dbms_pipe\\.receive_message|utl_http\\.request|utl_inaddr|dbms_lock\\.sleep|extractvalue\\(|updatexml\\(|make_set\\(|name_const\\(|geometrycollection\\(|procedure\\s{1,8}analyse\\s{0,4}\\(|lo_import\\(|pg_read_file\\(|copy\\s{1,4}\\(?\\s{0,4}select)',
    },
    literals: ['sleep', 'benchmark', 'waitfor', 'load_file', 'outfile', 'dumpfile', 'xp_', 'sp_', 'dbms_', 'utl_', 'extractvalue', 'updatexml', 'make_set', 'name_const', 'geometrycollection', 'analyse', 'lo_import', 'pg_read_file', 'copy'],
  },
  {
    id: 'sqli-130',
    description: 'SQL schema discovery (information_schema, system catalogs)',
    tags: T, paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: NC,
    operator: {
      type: 'phrase', wordBoundary: true,
      phrases: ['db_name(', 'database(', 'schema_name', 'current_database(', 'tempdb', 'msdb', 'northwind', 'pg_sleep', 'information_schema', 'mysql.user', 'mysql.db', 'sysobjects', 'syscolumns', 'sys.objects', 'sys.tables', 'sys.columns', 'sys.databases', 'master..sysdatabases', 'pg_catalog', 'pg_shadow', 'pg_user', 'pg_tables', 'sqlite_master', 'sqlite_schema', 'all_tables', 'user_tables', 'dba_users', 'all_users', 'sys.user$', 'msysaccessobjects', 'msysobjects', 'sysibm.systables', 'rdb$relations', 'pg_namespace', 'pg_database', 'sys.sql_logins', 'performance_schema', 'mysql.innodb_table_stats'],
    },
  },
  {
    id: 'sqli-140',
    description: 'SQL hex or char() string building, typical of blind and error-based injection',
    tags: T, paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: NC,
    operator: { type: 'regex', pattern: '(?:\\b(?:concat|concat_ws|group_concat)\\s{0,4}\\(\\s{0,4}(?:0x[0-9a-f]{2,}|char\\s{0,4}\\(|@@|\\(\\s{0,4}select)|\\bchar\\s{0,4}\\(\\s{0,4}\\d{1,3}\\s{0,4}(?:,\\s{0,4}\\d{1,3}\\s{0,4}){2,32}\\)|\\bchar\\(\\d{1,3}\\)\\s{0,4}(?:\\+|\\|\\|)\\s{0,4}char\\(|\\bchr\\(\\d{1,3}\\)\\s{0,4}\\|\\|)' },
    literals: ['concat', 'char', 'chr('],
  },
  {
    id: 'sqli-150',
    description: 'SQL keyword sequences of injections (UNION [ALL] SELECT, ORDER BY n--, AND n=n, HAVING n=n)',
    tags: T, paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: NC,
    operator: { type: 'regex', pattern: '\\bunion(?:\\s{1,8}(?:all|distinct))?\\s{0,8}\\(?\\s{0,8}select\\b|\\border\\s{1,8}by\\s{1,8}\\d{1,3}\\s{0,8}(?:--|#|/\\*|;|$)|\\b(?:and|or|having)\\s{1,8}\\(?\\s{0,4}(\\d{1,10})\\s{0,4}=\\s{0,4}\\1\\b' },
    literals: ['union', 'order', ' and', ' or', 'having'],
  },
  {
    id: 'sqli-155',
    description: 'A whole SELECT ... FROM statement in a parameter that is not free text',
    tags: T, paranoia: 1, severity: 'critical', targets: STRICT, transforms: NC,
    operator: { type: 'regex', pattern: '\\bselect\\s{1,8}[\\w@*,.()\\s`]{1,200}\\sfrom\\s{1,8}[\\w.`\\[\\]]{1,64}\\s{0,8}(?:$|;|--|#|/\\*|\\)|(?:where|limit|order\\s{1,8}by|group\\s{1,8}by|join|union|into|procedure|having|as|inner|left|right|natural|cross)\\b)' },
    literals: ['select'],
  },
  {
    id: 'sqli-160',
    description: 'A parameter name that reads as SQL: names are identifiers in APIs (function call, operator, keyword or comment next to spaces, quotes or parentheses)',
    tags: T, paranoia: 1, severity: 'critical', targets: ['query_name', 'form_name', 'cookie_name'], transforms: N,
    operator: { type: 'detect', detector: 'sqli-name' },
  },
  {
    id: 'sqli-161',
    description: 'A parameter value that starts with an SQL statement (DECLARE @x, EXEC (, EXECUTE IMMEDIATE, DROP TABLE, ...) in a parameter that is not free text',
    tags: T, paranoia: 1, severity: 'critical', targets: STRICT, transforms: NC,
    operator: { type: 'detect', detector: 'sqli-statement' },
    literals: ['select', 'insert', 'update', 'delete', 'drop', 'create', 'alter', 'truncate', 'exec', 'declare', 'shutdown', 'grant', 'revoke', 'replace', 'merge', 'call', 'waitfor', 'handler', 'rename', 'show', 'load', 'prepare', 'set'],
  },
  {
    id: 'sqli-165',
    description: 'A column alias followed by FROM (x AS y FROM) in a parameter that is not free text',
    tags: T, paranoia: 1, severity: 'critical', targets: STRICT, transforms: NC,
    operator: { type: 'regex', pattern: '(?:^|[)\\d"\'`!;])\\s{0,16}as\\s{1,16}(?:["\'`][^"\'`]{0,64}["\'`]|[\\w]{1,64}|not)?\\s{0,16}["\'`]?\\s{0,4}from\\b' },
    literals: ['from'],
  },
  {
    id: 'sqli-170',
    description: 'A parameter name or short value that is an SQL function call or fragment (name( or keyword followed by an operator)',
    tags: T, paranoia: 2, severity: 'critical', targets: STRICT, transforms: NC,
    operator: { type: 'regex', pattern: '^\\W{0,4}(?:abs|ascii|avg|benchmark|bin|cast|ceil|ceiling|char|chr|coalesce|concat|convert|count|database|elt|exp|floor|hex|if|ifnull|instr|isnull|left|length|lower|ltrim|max|md5|mid|min|now|nullif|ord|pi|pow|power|rand|repeat|replace|reverse|right|round|rtrim|sha1|sleep|space|sqrt|strcmp|substr|substring|sum|trim|uncompress|unhex|upper|user|version|xmltype|password|month|date|year|local|in)\\s{0,4}[\\[\\]=!&|?]{0,3}\\s{0,4}\\($' },
    literals: ['('],
  },
  {
    id: 'sqli-180',
    description: 'A parameter whose whole value is an SQL operator or a logic fragment (&&, ||, <=>, XOR, RLIKE, != ...)',
    tags: T, paranoia: 2, severity: 'warning', targets: STRICT, transforms: N,
    operator: { type: 'regex', pattern: '^\\s{0,4}(?:&&|\\|\\||<=>|!=|<>|>=|<=|>>|<<|xor|rlike|regexp|sounds\\s{1,4}like|like\\s{1,4}null|is\\s{1,4}null|not\\s{1,4}between|div|collate)\\s{0,4}$' },
  },
  {
    id: 'sqli-200',
    description: 'MySQL executable comment or comment-obfuscated keyword (/*!50000select*/, UN/**/ION)',
    tags: T, paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: N,
    operator: { type: 'regex', pattern: '/\\*!\\d{0,5}\\s{0,4}(?:select|union|and|or|from|where|insert|update|delete|drop|sleep|concat|version|user)|\\b(?:un|se|sel|uni|ins|upd|del|dro)[a-z]{0,3}/\\*[^*]{0,64}\\*/[a-z]{1,6}\\b' },
    literals: ['/*'],
  },
  {
    id: 'nosql-100',
    description: 'NoSQL operator injection: a MongoDB query operator as a key or bracketed parameter name ($ne, $gt, $where, $regex, ...)',
    tags: ['attack-nosql', 'injection'], paranoia: 1, severity: 'critical', targets: [...NAMES, 'query', 'form'], transforms: N,
    operator: { type: 'regex', pattern: '(?:^|\\[|\\.|/)\\$(?:ne|eq|gt|gte|lt|lte|in|nin|not|or|and|nor|where|regex|exists|expr|elemmatch|function|accumulator|lookup|type|size|all|mod|text|jsonschema|options|comment|natural|set|unset|rename|push|pull|inc)(?:\\]|$)' },
    literals: ['$'],
  },
  {
    id: 'nosql-110',
    description: 'NoSQL JavaScript injection ($where / mapReduce code, sleep, this.)',
    tags: ['attack-nosql', 'injection'], paranoia: 1, severity: 'critical', targets: ARGS_HEADERS, transforms: N,
    operator: { type: 'regex', pattern: '[\'"]\\s{0,4}(?:\\|\\||&&|;)\\s{0,4}(?:this\\.|sleep\\(|return\\s|db\\.|while\\s{0,4}\\(|true|1\\s{0,4}==\\s{0,4}1|[\'"])|\\$where\\s{0,4}[\'"]?\\s{0,4}:|\\bdb\\.(?:getcollection|[a-z_]{1,32}\\.(?:find|drop|remove|insert|update))\\s{0,4}\\(' },
    literals: ['||', '&&', ';', '$where', 'db.'],
  },
];
