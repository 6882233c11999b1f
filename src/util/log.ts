/**
 * Small structured logger. Lines go to stderr as `time level component: message key=value`
 * or, with LIFEBOAT_LOG_FORMAT=json, one JSON object per line. Decisions (why this node,
 * why this checkpoint version) are logged at info so operators see them by default.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(component: string): Logger;
}

function envLevel(): LogLevel {
  const v = process.env['LIFEBOAT_LOG_LEVEL'];
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error' ? v : 'info';
}

function fmtValue(v: string | number | boolean | null): string {
  const s = String(v);
  return /[\s="]/.test(s) ? JSON.stringify(s) : s;
}

export function createLogger(
  component: string,
  sink: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Logger {
  const min = order[envLevel()];
  const json = process.env['LIFEBOAT_LOG_FORMAT'] === 'json';
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (order[level] < min) return;
    const time = new Date().toISOString();
    const clean = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<
      string,
      string | number | boolean | null
    >;
    if (json) {
      sink(JSON.stringify({ time, level, component, msg, ...clean }));
    } else {
      const kv = Object.entries(clean)
        .map(([k, v]) => `${k}=${fmtValue(v)}`)
        .join(' ');
      sink(`${time} ${level.toUpperCase().padEnd(5)} ${component}: ${msg}${kv ? ' ' + kv : ''}`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (c) => createLogger(`${component}/${c}`, sink),
  };
}
