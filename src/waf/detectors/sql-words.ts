/** SQL vocabulary used by the SQL tokenizer (lowercase). */

/** Words that start a statement. */
export const STATEMENT_WORDS: ReadonlySet<string> = new Set([
  'select', 'insert', 'update', 'delete', 'drop', 'create', 'alter', 'truncate', 'exec', 'execute',
  'declare', 'shutdown', 'grant', 'revoke', 'replace', 'merge', 'call', 'waitfor', 'handler',
  'rename', 'show', 'describe', 'desc', 'load', 'set', 'prepare', 'deallocate', 'lock', 'unlock', 'begin', 'commit', 'rollback', 'use',
]);

/** Logic operators. */
export const LOGIC_WORDS: ReadonlySet<string> = new Set(['and', 'or', 'xor', 'not']);

/** Comparison-like word operators. */
export const OP_WORDS: ReadonlySet<string> = new Set([
  'like', 'rlike', 'regexp', 'is', 'in', 'between', 'div', 'mod', 'sounds', 'glob', 'match', 'against', 'collate', 'escape', 'binary', 'similar', 'ilike',
]);

/** Other keywords. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'from', 'where', 'into', 'values', 'table', 'database', 'schema', 'view', 'procedure', 'function',
  'having', 'limit', 'offset', 'order', 'group', 'by', 'as', 'case', 'when', 'then', 'else', 'end',
  'exists', 'all', 'any', 'some', 'distinct', 'top', 'outfile', 'dumpfile', 'join', 'inner', 'outer',
  'left', 'right', 'cross', 'natural', 'on', 'using', 'asc', 'index', 'trigger', 'column', 'columns',
  'tables', 'if', 'elseif', 'while', 'loop', 'delay', 'time', 'returns', 'return', 'cursor', 'for', 'fetch',
  'open', 'close', 'with', 'recursive', 'window', 'partition', 'over', 'rows', 'range', 'intersect', 'except', 'minus',
  'for', 'nowait', 'share', 'mode', 'cast', 'convert', 'char', 'varchar', 'nvarchar', 'int', 'integer',
  'procedure', 'analyse', 'user', 'sysdate', 'current_user', 'session_user', 'system_user', 'identified',
]);

/** Literals that behave like numbers. */
export const LITERAL_WORDS: ReadonlySet<string> = new Set(['null', 'true', 'false', 'unknown']);

/**
 * SQL functions (MySQL, PostgreSQL, MSSQL, Oracle, SQLite) that attacks use: when followed by '(',
 * the word is a function call.
 */
export const FUNCTIONS: ReadonlySet<string> = new Set([
  'abs', 'acos', 'adddate', 'addtime', 'aes_decrypt', 'aes_encrypt', 'ascii', 'asin', 'atan', 'atan2', 'avg',
  'benchmark', 'bin', 'bit_and', 'bit_count', 'bit_length', 'bit_or', 'bit_xor', 'cast', 'ceil', 'ceiling',
  'char', 'char_length', 'character_length', 'charindex', 'chr', 'coalesce', 'collation', 'compress',
  'concat', 'concat_ws', 'connection_id', 'conv', 'convert', 'cos', 'cot', 'count', 'crc32', 'curdate',
  'current_database', 'current_date', 'current_schema', 'current_time', 'current_timestamp', 'current_user', 'curtime',
  'database', 'date', 'date_add', 'date_format', 'date_sub', 'datediff', 'day', 'dayname', 'dayofmonth',
  'dayofweek', 'dayofyear', 'db_name', 'dbms_pipe.receive_message', 'decode', 'degrees', 'des_decrypt', 'des_encrypt',
  'elt', 'encode', 'encrypt', 'exp', 'export_set', 'extract', 'extractvalue', 'field', 'find_in_set',
  'floor', 'format', 'found_rows', 'from_base64', 'from_days', 'from_unixtime', 'get_lock', 'greatest',
  'group_concat', 'hex', 'host_name', 'hour', 'if', 'ifnull', 'iif', 'inet_aton', 'inet_ntoa', 'insert', 'instr',
  'is_srvrolemember', 'isnull', 'json_extract', 'json_keys', 'last_insert_id', 'lcase', 'least', 'left', 'len', 'length',
  'ln', 'load_file', 'locate', 'log', 'log10', 'log2', 'lower', 'lpad', 'ltrim', 'make_set', 'master_pos_wait',
  'max', 'md5', 'mid', 'min', 'minute', 'mod', 'month', 'monthname', 'name_const', 'now', 'nullif', 'nvl',
  'oct', 'octet_length', 'ord', 'password', 'pg_read_file', 'pg_ls_dir', 'pg_sleep', 'pi', 'position', 'pow', 'power',
  'quarter', 'quote', 'radians', 'rand', 'randomblob', 'release_lock', 'repeat', 'replace', 'reverse', 'right',
  'round', 'row_count', 'rpad', 'rtrim', 'schema', 'sec_to_time', 'second', 'session_user', 'sha', 'sha1',
  'sha2', 'sign', 'sin', 'sleep', 'soundex', 'space', 'sqlite_version', 'sqrt', 'std', 'stddev', 'str_to_date',
  'strcmp', 'subdate', 'substr', 'substring', 'substring_index', 'sum', 'suser_name', 'sys_context', 'sysdate', 'system_user',
  'tan', 'time', 'time_format', 'time_to_sec', 'timediff', 'timestamp', 'to_base64', 'to_char', 'to_days',
  'trim', 'truncate', 'ucase', 'uncompress', 'uncompressed_length', 'unhex', 'unix_timestamp', 'updatexml', 'upper',
  'user', 'user_name', 'utc_date', 'utl_http.request', 'utl_inaddr.get_host_address', 'uuid', 'values', 'var_pop', 'variance',
  'version', 'week', 'weekday', 'weight_string', 'xmltype', 'year', 'yearweek', 'exists', 'char_length', 'xp_cmdshell',
  'openrowset', 'opendatasource', 'openquery', 'ctxsys.drithsx.sn', 'sys.fn_varbintohexstr', 'lo_import', 'lo_get', 'current_setting',
  'randomblob', 'zeroblob', 'typeof', 'unicode', 'hextoraw', 'rawtohex', 'dbms_xmlgen.getxml', 'procedure_analyse', 'geometrycollection',
  'multipoint', 'polygon', 'linestring', 'multipolygon', 'multilinestring', 'exp', 'st_latfromgeohash', 'gtid_subset', 'json_keys',
]);

/** Functions whose presence is an attack on its own (time delays, file and network access). */
export const DANGEROUS_FUNCTIONS: ReadonlySet<string> = new Set([
  'benchmark', 'sleep', 'pg_sleep', 'load_file', 'xp_cmdshell', 'extractvalue', 'updatexml', 'dbms_pipe.receive_message',
  'utl_http.request', 'utl_inaddr.get_host_address', 'pg_read_file', 'pg_ls_dir', 'lo_import', 'openrowset', 'opendatasource',
  'get_lock', 'master_pos_wait', 'name_const', 'ctxsys.drithsx.sn', 'dbms_xmlgen.getxml', 'randomblob', 'is_srvrolemember',
  'geometrycollection', 'gtid_subset', 'procedure_analyse', 'sys_context', 'xmltype',
]);
