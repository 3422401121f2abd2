import * as z from 'zod';

/**
 * The config file's schema (kebab-case keys, as in config.example.yaml). Unknown keys are
 * rejected so a typo is reported instead of silently ignored.
 */
export const DEFAULT_ISSUER = 'https://auth.openai.com';
export const DEFAULT_BASE_URL = 'https://chatgpt.com/backend-api/codex';
export const CODEX_CLIENT_ID = 'app_EMoamEEZ73f0CkXaXp7hrann';

/** A URL without trailing slashes; also checks URLs that come from the environment (load.ts). */
export const urlSchema = z.string().url().transform((s) => s.replace(/\/+$/, ''));
const url = urlSchema;
const port = z.number().int().min(0).max(65535);

export const reasoningEfforts = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;

/** A `claude-models` entry: `gpt-5.1-codex` or `{model: gpt-5.1-codex, effort: high}`. */
const claudeModelEntry = z
  .union([z.string().min(1), z.object({ model: z.string().min(1), effort: z.enum(reasoningEfforts).optional() }).strict()])
  .transform((v) => (typeof v === 'string' ? { model: v } : v));

export const routingStrategies = ['round-robin', 'fill-first', 'least-used'] as const;
export const reasoningSummaries = ['auto', 'concise', 'detailed', 'none'] as const;
/** A Codex CLI version as the backend's `client_version` expects it: X.Y.Z. */
export const clientVersionSchema = z.string().regex(/^\d+\.\d+\.\d+$/, 'expected a version X.Y.Z, e.g. 0.169.0');

export const fileSchema = z
  .object({
    host: z.string().min(1).optional(),
    port: port.optional(),
    'auth-dir': z.string().min(1).optional(),
    'api-keys': z.array(z.string().min(8, 'an API key must be at least 8 characters')).optional(),
    debug: z.boolean().optional(),
    'max-body-mb': z.number().positive().max(1024).optional(),
    'request-retry': z.number().int().min(0).max(20).optional(),
    'model-aliases': z.record(z.string().min(1), z.string().min(1)).optional(),
    'models-cache-seconds': z.number().int().min(0).optional(),
    'claude-models': z.record(z.string().min(1), claudeModelEntry).optional(),
    'model-effort-suffixes': z.array(z.enum(reasoningEfforts)).optional(),
    server: z
      .object({
        'request-timeout-seconds': z.number().positive().optional(),
        'connection-timeout-seconds': z.number().positive().optional(),
        'max-connections': z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    codex: z
      .object({
        issuer: url.optional(),
        'base-url': url.optional(),
        'client-id': z.string().min(1).optional(),
        originator: z.string().min(1).optional(),
        'client-version': clientVersionSchema.optional(),
        'reasoning-summary': z.enum(reasoningSummaries).optional(),
        'request-timeout-seconds': z.number().positive().optional(),
      })
      .strict()
      .optional(),
    routing: z
      .object({
        strategy: z.enum(routingStrategies).optional(),
        'session-affinity': z.boolean().optional(),
        'session-affinity-ttl-seconds': z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    cooldown: z
      .object({
        'transient-seconds': z.number().min(0).optional(),
        'max-backoff-seconds': z.number().positive().optional(),
      })
      .strict()
      .optional(),
    refresh: z
      .object({
        'lead-seconds': z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    'remote-management': z
      .object({
        'secret-key': z.string().min(8, 'the management key must be at least 8 characters').optional(),
        'allow-remote': z.boolean().optional(),
      })
      .strict()
      .optional(),
    store: z
      .object({
        type: z.enum(['file', 'postgres']).optional(),
        'postgres-url': z.string().min(1).optional(),
        'postgres-table': z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lowercase letters, digits and underscores only').optional(),
        'postgres-schema': z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lowercase letters, digits and underscores only').optional(),
        'encryption-key': z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof fileSchema>;

/** The resolved configuration every module receives (camelCase, every value filled in). */
export interface Config {
  host: string;
  port: number;
  authDir: string;
  apiKeys: string[];
  debug: boolean;
  maxBodyMb: number;
  requestRetry: number;
  modelAliases: Record<string, string>;
  modelsCacheSeconds: number;
  /** Anthropic model name (exact, or family opus/sonnet/haiku) → Codex model and effort, for /v1/messages. */
  claudeModels: Record<string, { model: string; effort?: (typeof reasoningEfforts)[number] }>;
  /** Efforts listed as `<model>-<effort>` in /v1/models (suffixes are accepted either way). */
  modelEffortSuffixes: (typeof reasoningEfforts)[number][];
  /** Limits on client connections (see README "Limits"). */
  server: {
    /** The whole request (headers and body) must arrive within this; else 408 and the connection is closed. */
    requestTimeoutSeconds: number;
    /** A connection with no traffic either way for this long is closed (longer than the longest silent upstream wait). */
    connectionTimeoutSeconds: number;
    /** Simultaneous client connections; more are refused until one closes. */
    maxConnections: number;
  };
  codex: {
    issuer: string;
    baseUrl: string;
    clientId: string;
    originator: string;
    /** The Codex CLI version claimed upstream: /models `client_version`, `version` header, User-Agent. */
    clientVersion: string;
    /** `reasoning.summary` sent for chat requests that ask for reasoning without saying which summary. */
    reasoningSummary: (typeof reasoningSummaries)[number];
    requestTimeoutSeconds: number;
  };
  routing: {
    strategy: (typeof routingStrategies)[number];
    sessionAffinity: boolean;
    sessionAffinityTtlSeconds: number;
  };
  cooldown: {
    transientSeconds: number;
    maxBackoffSeconds: number;
  };
  refresh: {
    leadSeconds: number;
  };
  /** Where accounts are kept: the auth dir (default) or a PostgreSQL table shared by several instances. */
  store: {
    type: 'file' | 'postgres';
    postgresUrl?: string;
    postgresTable: string;
    /** The schema the tables live in (created if absent); default public. */
    postgresSchema: string;
    /** Encrypts the token fields at rest (32 bytes base64, or a passphrase); unset = plain. */
    encryptionKey?: string;
  };
  /**
   * The management API (/v0/management/*, /dashboard): off while secretKey is null. secretKey is
   * the key as configured (a plain key, or the scrypt hash the server writes back in its place);
   * keyFrom says where it came from (a plain key from the file is hashed into the file at start).
   */
  management: {
    secretKey: string | null;
    keyFrom: 'file' | 'env' | null;
    allowRemote: boolean;
  };
  /** Where the config came from: a file path, or 'defaults'. */
  source: string;
}
