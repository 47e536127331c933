import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs on stderr, so stdout stays free for command output (CSV to `-`, summaries).
 * Level from BARFLOW_LOG_LEVEL (default `warn` for the CLI: a command's own output says what it did).
 */
export const rootLogger: Logger = pino(
  { name: 'barflow', level: process.env.BARFLOW_LOG_LEVEL ?? 'warn', base: { pid: process.pid } },
  pino.destination(2),
);

export function logger(component: string): Logger {
  return rootLogger.child({ component });
}

export function setLogLevel(level: string): void {
  rootLogger.level = level;
}
