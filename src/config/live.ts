/**
 * Which config keys a running server applies without a restart, and what changed between two
 * configs. `api-keys`, `routing`, `model-aliases`, `claude-models`, `request-retry`, `cooldown` and `debug` are
 * applied live; every other key (host, port, auth-dir, store, codex, …) keeps its running value
 * until a restart.
 */
import type { Config } from './schema.js';

export const LIVE_KEYS = ['apiKeys', 'routing', 'modelAliases', 'claudeModels', 'requestRetry', 'cooldown', 'debug'] as const;
export type LiveKey = (typeof LIVE_KEYS)[number];

/** The config file's name of each Config field (for messages). */
const FILE_NAMES: Record<Exclude<keyof Config, 'source'>, string> = {
  host: 'host',
  port: 'port',
  authDir: 'auth-dir',
  apiKeys: 'api-keys',
  debug: 'debug',
  maxBodyMb: 'max-body-mb',
  requestRetry: 'request-retry',
  modelAliases: 'model-aliases',
  claudeModels: 'claude-models',
  modelEffortSuffixes: 'model-effort-suffixes',
  modelsCacheSeconds: 'models-cache-seconds',
  server: 'server',
  codex: 'codex',
  routing: 'routing',
  cooldown: 'cooldown',
  refresh: 'refresh',
  store: 'store',
  management: 'remote-management',
};

export function fileKeyName(key: keyof Config): string {
  return key === 'source' ? 'source' : FILE_NAMES[key];
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export interface ConfigDiff {
  /** Changed keys applied live. */
  live: LiveKey[];
  /** Changed keys that keep their running value until a restart (config file names). */
  restart: string[];
}

export function diffConfig(running: Config, next: Config): ConfigDiff {
  const live = LIVE_KEYS.filter((k) => !same(running[k], next[k]));
  const restart = (Object.keys(FILE_NAMES) as Array<keyof typeof FILE_NAMES>)
    .filter((k) => !(LIVE_KEYS as readonly string[]).includes(k) && !same(running[k], next[k]))
    .map((k) => FILE_NAMES[k]);
  return { live, restart };
}

/** The running config with the live keys taken from `next` (the others keep their running values). */
export function withLiveKeys(running: Config, next: Config): Config {
  const out: Config = { ...running };
  for (const k of LIVE_KEYS) (out as unknown as Record<string, unknown>)[k] = next[k];
  return out;
}
