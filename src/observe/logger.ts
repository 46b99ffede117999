import pino, { type Logger } from 'pino';

/**
 * The gateway's event log (pino, JSON lines, secrets redacted by path). The access log does not
 * use it: its lines come from accessLogLine() through a LineWriter (line-writer.ts says why).
 */
export function createLogger(path: string, name: string, redact = true): Logger {
  const opts = { sync: false };
  const dest =
    path === 'stdout'
      ? pino.destination({ fd: 1, ...opts })
      : path === 'stderr'
        ? pino.destination({ fd: 2, ...opts })
        : pino.destination({ dest: path, mkdir: true, append: true, ...opts });
  return pino(
    {
      base: { log: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      ...(redact
        ? {
            redact: {
              paths: ['headers.authorization', 'headers.cookie', 'headers["x-api-key"]', 'headers["proxy-authorization"]', '*.password', '*.secret', '*.token'],
              censor: '[REDACTED]',
            },
          }
        : {}),
    },
    dest,
  );
}
