import type { Writable } from 'node:stream';
import type { Logger } from '../accounts/logger.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

/**
 * A plain-text logger for CLI commands that run without the server: one line per entry on
 * stderr, `level: message {fields}`. Callers pass no secrets (same rule as everywhere).
 */
export function stderrLogger(stream: Writable, minLevel: Level): Logger {
  const min = LEVELS.indexOf(minLevel);
  const write = (level: Level) => (obj: object | string, msg?: string) => {
    if (LEVELS.indexOf(level) < min) return;
    const text = typeof obj === 'string' ? obj : (msg ?? '');
    const fields = typeof obj === 'string' ? '' : JSON.stringify(obj, (_k, v: unknown) => (v instanceof Error ? v.message : v));
    stream.write(`${level}: ${text}${fields && fields !== '{}' ? ` ${fields}` : ''}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
