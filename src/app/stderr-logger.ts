import type { Writable } from 'node:stream';
import type { Logger } from '../accounts/logger.js';
import { isSecretField, REDACTED } from '../util/redact.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

/**
 * A plain-text logger for CLI commands that run without the server: one line per entry on
 * stderr, `level: message {fields}`. Callers pass no secrets (same rule as everywhere); as a
 * second line of defence, fields named like a secret (SECRET_FIELD_NAMES, at any depth) are
 * written as [redacted], like the server's pino redaction.
 */
export function stderrLogger(stream: Writable, minLevel: Level): Logger {
  const min = LEVELS.indexOf(minLevel);
  const write = (level: Level) => (obj: object | string, msg?: string) => {
    if (LEVELS.indexOf(level) < min) return;
    const text = typeof obj === 'string' ? obj : (msg ?? '');
    const fields = typeof obj === 'string' ? '' : JSON.stringify(obj, fieldReplacer);
    stream.write(`${level}: ${text}${fields && fields !== '{}' ? ` ${fields}` : ''}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function fieldReplacer(key: string, value: unknown): unknown {
  if (key !== '' && isSecretField(key) && value !== undefined && value !== null) return REDACTED;
  return value instanceof Error ? value.message : value;
}
