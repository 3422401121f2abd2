/**
 * GET /v0/management/config: the running config and the config file's content, secrets masked.
 * PUT /v0/management/config: a new config file content (JSON, same keys as config.yaml):
 * validated, written atomically, applied live like an edit of the file (ConfigReloader).
 *
 * Secrets (api-keys, store.postgres-url, store.encryption-key) are shown as `[redacted:<8 hex of sha256>]` and the
 * management key as `[redacted]`; a PUT may send those placeholders back unchanged to keep the
 * values they stand for, so a GET → edit → PUT round trip never needs the secrets themselves.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../config/load.js';
import { LIVE_KEYS, fileKeyName } from '../../config/live.js';
import type { Config } from '../../config/schema.js';
import { ApiError, InvalidRequestError } from '../../errors.js';
import type { ConfigReloader } from '../config-reload.js';
import { hashManagementKey, isManagementKeyHash } from './key.js';

const PLACEHOLDER_RE = /^\[redacted:([0-9a-f]{8})\]$/;
const KEY_PLACEHOLDER = '[redacted]';
/** The store's secret keys in the config file: masked on GET, put back on PUT. */
const STORE_SECRETS = ['postgres-url', 'encryption-key'] as const;

function fingerprint(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 8);
}

export function maskSecret(secret: string): string {
  return `[redacted:${fingerprint(secret)}]`;
}

export function maskRunningConfig(c: Config): Record<string, unknown> {
  return {
    ...c,
    apiKeys: c.apiKeys.map(maskSecret),
    store: {
      ...c.store,
      postgresUrl: c.store.postgresUrl === undefined ? undefined : maskSecret(c.store.postgresUrl),
      ...(c.store.encryptionKey === undefined ? {} : { encryptionKey: maskSecret(c.store.encryptionKey) }),
    },
    management: { ...c.management, secretKey: c.management.secretKey === null ? null : KEY_PLACEHOLDER },
  };
}

type Doc = Record<string, unknown>;

function obj(v: unknown): Doc | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Doc) : undefined;
}

function maskDocument(doc: Doc): Doc {
  const out: Doc = { ...doc };
  if (Array.isArray(doc['api-keys'])) out['api-keys'] = doc['api-keys'].map((k) => (typeof k === 'string' ? maskSecret(k) : k));
  const store = obj(doc.store);
  if (store) {
    const masked: Doc = { ...store };
    for (const key of STORE_SECRETS) if (typeof store[key] === 'string') masked[key] = maskSecret(store[key]);
    out.store = masked;
  }
  const mgmt = obj(doc['remote-management']);
  if (mgmt && typeof mgmt['secret-key'] === 'string') out['remote-management'] = { ...mgmt, 'secret-key': KEY_PLACEHOLDER };
  return out;
}

/** Puts the real values back where a PUT sent placeholders; 400 for a placeholder that stands for nothing known. */
function unmaskDocument(doc: Doc, known: { secrets: string[]; managementKey: string | undefined }): Doc {
  const bySum = new Map(known.secrets.map((s) => [fingerprint(s), s]));
  const resolve = (v: unknown, param: string): unknown => {
    if (typeof v !== 'string') return v;
    const m = PLACEHOLDER_RE.exec(v);
    if (!m) return v;
    const real = bySum.get(m[1]!);
    if (real === undefined) throw new InvalidRequestError(`${param}: ${v} stands for no value the server knows; send the value itself.`, { param, code: 'invalid_value' });
    return real;
  };
  const out: Doc = { ...doc };
  if (Array.isArray(doc['api-keys'])) out['api-keys'] = doc['api-keys'].map((k, i) => resolve(k, `api-keys.${i}`));
  const store = obj(doc.store);
  if (store) {
    const real: Doc = { ...store };
    for (const key of STORE_SECRETS) if (key in store) real[key] = resolve(store[key], `store.${key}`);
    out.store = real;
  }
  const mgmt = obj(doc['remote-management']);
  if (mgmt && mgmt['secret-key'] === KEY_PLACEHOLDER) {
    if (known.managementKey === undefined) throw new InvalidRequestError('remote-management.secret-key: [redacted] stands for no key in the config file.', { param: 'remote-management.secret-key', code: 'invalid_value' });
    out['remote-management'] = { ...mgmt, 'secret-key': known.managementKey };
  }
  return out;
}

async function readDocument(file: string): Promise<Doc> {
  const parsed: unknown = parseYaml(await readFile(file, 'utf8')) ?? {};
  return obj(parsed) ?? {};
}

export interface ConfigRoutesOptions {
  current(): Config;
  reloader: ConfigReloader | null;
}

export async function configRoutes(app: FastifyInstance, opts: ConfigRoutesOptions): Promise<void> {
  const file = () => opts.reloader?.file ?? null;

  app.get('/v0/management/config', async () => {
    const f = file();
    let document: Doc | null = null;
    if (f) {
      try {
        document = maskDocument(await readDocument(f));
      } catch {
        document = null;
      }
    }
    return {
      file: f,
      running: maskRunningConfig(opts.current()),
      document,
      liveKeys: LIVE_KEYS.map((k) => fileKeyName(k)),
    };
  });

  app.put<{ Body: unknown }>('/v0/management/config', async (req) => {
    const reloader = opts.reloader;
    const f = file();
    if (!reloader || !f) {
      throw new ApiError(409, 'invalid_request_error', 'The server was started without a config file: start it with --config FILE to change its config here.', { code: 'no_config_file' });
    }
    const body = obj(req.body);
    if (!body) throw new InvalidRequestError('Send the config as a JSON object with the keys of config.yaml.', { code: 'invalid_value' });
    const onDisk = await readDocument(f).catch(() => ({}) as Doc);
    const fileKey = obj(onDisk['remote-management'])?.['secret-key'];
    const running = opts.current();
    const secrets = [...running.apiKeys, ...(Array.isArray(onDisk['api-keys']) ? onDisk['api-keys'].filter((k): k is string => typeof k === 'string') : [])];
    if (running.store.postgresUrl) secrets.push(running.store.postgresUrl);
    if (running.store.encryptionKey) secrets.push(running.store.encryptionKey);
    const diskStore = obj(onDisk.store);
    for (const key of STORE_SECRETS) if (typeof diskStore?.[key] === 'string') secrets.push(diskStore[key]);
    const document = unmaskDocument(body, { secrets, managementKey: typeof fileKey === 'string' ? fileKey : undefined });
    // a new management key is written as its hash, never in plain text
    const mgmt = obj(document['remote-management']);
    const newKey = mgmt?.['secret-key'];
    if (typeof newKey === 'string' && newKey.length >= 8 && !isManagementKeyHash(newKey)) {
      document['remote-management'] = { ...mgmt, 'secret-key': await hashManagementKey(newKey) };
    }
    let outcome;
    try {
      outcome = await reloader.replaceFile(document);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const first = err.issues[0];
      throw new InvalidRequestError(
        err.issues.length ? `Invalid config: ${err.issues.map((i) => `${i.key}: ${i.reason}`).join('; ')}` : err.message,
        { param: first?.key ?? null, code: 'invalid_config' },
      );
    }
    if (!outcome.ok) throw new InvalidRequestError(`Invalid config: ${outcome.reason}`, { code: 'invalid_config' });
    return { file: f, applied: outcome.applied, restartRequired: outcome.restartRequired, running: maskRunningConfig(reloader.current()) };
  });
}
