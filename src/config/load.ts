import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as z from 'zod';
import { codexCliVersion } from '../app/version.js';
import { clientVersionSchema, CODEX_CLIENT_ID, DEFAULT_BASE_URL, DEFAULT_ISSUER, fileSchema, routingStrategies, urlSchema, type Config, type ConfigFile } from './schema.js';

/** yaml is loaded when a config file is read (start-up without one does not pay for it). */
const requireModule = createRequire(import.meta.url);
function parseYaml(text: string): unknown {
  return (requireModule('yaml') as typeof import('yaml')).parse(text);
}

/** One problem of a config: the key path (`routing.strategy`, `(top level)`) and why. */
export interface ConfigIssue {
  key: string;
  reason: string;
}

export class ConfigError extends Error {
  /** The problems by key path, when the file's content was invalid. */
  readonly issues: ConfigIssue[];
  constructor(message: string, issues: ConfigIssue[] = []) {
    super(message);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Values given on the command line; they win over everything else. */
export interface ConfigFlags {
  config?: string;
  host?: string;
  port?: number;
  authDir?: string;
}

export interface LoadConfigOptions {
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
  /** The file's content, already parsed, instead of reading it (a config about to be written). */
  fileContent?: ConfigFile;
}

function expandHome(p: string, home = homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

export function configIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((issue) => {
    const key = issue.path.length ? issue.path.join('.') : '(top level)';
    let reason = issue.message;
    if (issue.code === 'unrecognized_keys') reason = `unknown key(s): ${issue.keys.join(', ')}`;
    return { key, reason };
  });
}

/** A parsed config document checked against the schema; ConfigError with the key paths when it does not fit. */
export function parseConfigDocument(raw: unknown, file: string): ConfigFile {
  const parsed = fileSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issues = configIssues(parsed.error);
  throw new ConfigError(`Invalid config ${file}:\n${issues.map((i) => `  ${i.key}: ${i.reason}`).join('\n')}`, issues);
}

/** Finds the config file: --config, then CLIPROXY_CONFIG, then ./config.yaml if present. */
function resolveConfigPath(opts: LoadConfigOptions): string | undefined {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const explicit = opts.flags?.config ?? env.CLIPROXY_CONFIG;
  if (explicit) return path.resolve(cwd, expandHome(explicit, opts.home));
  const local = path.join(cwd, 'config.yaml');
  return existsSync(local) ? local : undefined;
}

function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `Config file not found: ${file}` : `Cannot read config file ${file}: ${code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    // yaml's message quotes the offending source lines after the first one (which names the
    // line and column); those lines may hold API keys or a postgres URL, so only the first is kept.
    const firstLine = (err as Error).message.split('\n')[0]!.trim();
    throw new ConfigError(`Invalid YAML in ${file}: ${firstLine}`);
  }
  return parseConfigDocument(raw, file);
}

function envPort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`CLIPROXY_PORT: expected a port number 0-65535, got "${value}"`);
  return n;
}

function envUrl(name: string, value: string): string {
  const parsed = urlSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(`${name}: expected a URL, got "${value}"`);
  return parsed.data;
}

function envClientVersion(value: string): string {
  const parsed = clientVersionSchema.safeParse(value.trim());
  if (!parsed.success) throw new ConfigError(`CLIPROXY_CODEX_CLIENT_VERSION: expected a version X.Y.Z (e.g. 0.169.0), got "${value}"`);
  return parsed.data;
}

/** Resolves the configuration with precedence flag > env > file > default. */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const home = opts.home ?? homedir();
  const flags = opts.flags ?? {};
  const file = resolveConfigPath(opts);
  const f: ConfigFile = opts.fileContent ?? (file ? readConfigFile(file) : {});

  const apiKeysEnv = env.CLIPROXY_API_KEYS?.split(',').map((s) => s.trim()).filter(Boolean);
  if (apiKeysEnv?.some((k) => k.length < 8)) throw new ConfigError('CLIPROXY_API_KEYS: every API key must be at least 8 characters');
  const debugEnv = env.CLIPROXY_DEBUG;

  const strategyEnv = env.CLIPROXY_ROUTING_STRATEGY;
  if (strategyEnv && !(routingStrategies as readonly string[]).includes(strategyEnv)) {
    throw new ConfigError(`CLIPROXY_ROUTING_STRATEGY: expected one of ${routingStrategies.join(', ')}, got "${strategyEnv}"`);
  }

  const codexTimeoutSeconds = f.codex?.['request-timeout-seconds'] ?? 600;
  const authDir = flags.authDir ?? env.CLIPROXY_AUTH_DIR ?? f['auth-dir'] ?? '~/.cli-proxy-api';

  return {
    host: flags.host ?? env.CLIPROXY_HOST ?? f.host ?? '127.0.0.1',
    port: flags.port ?? (env.CLIPROXY_PORT ? envPort(env.CLIPROXY_PORT) : undefined) ?? f.port ?? 8080,
    authDir: path.resolve(cwd, expandHome(authDir, home)),
    apiKeys: apiKeysEnv ?? f['api-keys'] ?? [],
    debug: debugEnv !== undefined ? /^(1|true|yes|on)$/i.test(debugEnv) : (f.debug ?? false),
    maxBodyMb: f['max-body-mb'] ?? 20,
    requestRetry: f['request-retry'] ?? 3,
    modelAliases: f['model-aliases'] ?? {},
    modelsCacheSeconds: f['models-cache-seconds'] ?? 300,
    claudeModels: f['claude-models'] ?? {},
    modelEffortSuffixes: f['model-effort-suffixes'] ?? [],
    server: {
      requestTimeoutSeconds: f.server?.['request-timeout-seconds'] ?? 60,
      connectionTimeoutSeconds: f.server?.['connection-timeout-seconds'] ?? codexTimeoutSeconds + 30,
      maxConnections: f.server?.['max-connections'] ?? 1024,
    },
    codex: {
      issuer: env.CLIPROXY_CODEX_ISSUER ? envUrl('CLIPROXY_CODEX_ISSUER', env.CLIPROXY_CODEX_ISSUER) : (f.codex?.issuer ?? DEFAULT_ISSUER),
      baseUrl: env.CLIPROXY_CODEX_BASE_URL ? envUrl('CLIPROXY_CODEX_BASE_URL', env.CLIPROXY_CODEX_BASE_URL) : (f.codex?.['base-url'] ?? DEFAULT_BASE_URL),
      clientId: f.codex?.['client-id'] ?? CODEX_CLIENT_ID,
      originator: f.codex?.originator ?? 'codex_cli_rs',
      clientVersion: env.CLIPROXY_CODEX_CLIENT_VERSION ? envClientVersion(env.CLIPROXY_CODEX_CLIENT_VERSION) : (f.codex?.['client-version'] ?? codexCliVersion()),
      reasoningSummary: f.codex?.['reasoning-summary'] ?? 'auto',
      requestTimeoutSeconds: codexTimeoutSeconds,
    },
    routing: {
      strategy: (strategyEnv as Config['routing']['strategy'] | undefined) ?? f.routing?.strategy ?? 'round-robin',
      sessionAffinity: f.routing?.['session-affinity'] ?? true,
      sessionAffinityTtlSeconds: f.routing?.['session-affinity-ttl-seconds'] ?? 3600,
    },
    cooldown: {
      transientSeconds: f.cooldown?.['transient-seconds'] ?? 5,
      maxBackoffSeconds: f.cooldown?.['max-backoff-seconds'] ?? 1800,
    },
    refresh: {
      leadSeconds: f.refresh?.['lead-seconds'] ?? 300,
    },
    store: resolveStore(env, f),
    management: resolveManagement(env, f),
    source: file ?? 'defaults',
  };
}

function resolveManagement(env: NodeJS.ProcessEnv, f: ConfigFile): Config['management'] {
  const fromEnv = env.CLIPROXY_MANAGEMENT_KEY?.trim();
  if (fromEnv !== undefined && fromEnv !== '' && fromEnv.length < 8) throw new ConfigError('CLIPROXY_MANAGEMENT_KEY: the management key must be at least 8 characters');
  const fromFile = f['remote-management']?.['secret-key'];
  const secretKey = fromEnv || fromFile || null;
  return {
    secretKey,
    keyFrom: fromEnv ? 'env' : fromFile ? 'file' : null,
    allowRemote: f['remote-management']?.['allow-remote'] ?? false,
  };
}

/**
 * The store. CLIProxyAPI's names work as they are: PGSTORE_DSN is the same as
 * CLIPROXY_POSTGRES_URL and, set alone (no CLIPROXY_STORE, no store.type), selects the
 * postgres store; PGSTORE_SCHEMA is store.postgres-schema.
 */
function resolveStore(env: NodeJS.ProcessEnv, f: ConfigFile): Config['store'] {
  const typeEnv = env.CLIPROXY_STORE;
  if (typeEnv && typeEnv !== 'file' && typeEnv !== 'postgres') throw new ConfigError(`CLIPROXY_STORE: expected "file" or "postgres", got "${typeEnv}"`);
  const dsn = env.PGSTORE_DSN || undefined;
  const postgresUrl = env.CLIPROXY_POSTGRES_URL ?? dsn ?? f.store?.['postgres-url'];
  const type = (typeEnv as 'file' | 'postgres' | undefined) ?? f.store?.type ?? (dsn ? 'postgres' : 'file');
  if (type === 'postgres' && !postgresUrl) throw new ConfigError('store.postgres-url: required when store.type is postgres (or set CLIPROXY_POSTGRES_URL / PGSTORE_DSN)');
  const schemaEnv = env.PGSTORE_SCHEMA || undefined;
  if (schemaEnv !== undefined && !IDENT.test(schemaEnv)) throw new ConfigError(`PGSTORE_SCHEMA: lowercase letters, digits and underscores only, got "${schemaEnv}"`);
  const encryptionKey = env.CLIPROXY_STORE_KEY || f.store?.['encryption-key'] || undefined;
  return {
    type,
    postgresUrl,
    postgresTable: f.store?.['postgres-table'] ?? 'cliproxy_accounts',
    postgresSchema: schemaEnv ?? f.store?.['postgres-schema'] ?? 'public',
    ...(encryptionKey ? { encryptionKey } : {}),
  };
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
