/**
 * Asking a running `cliproxy serve` for its per-account state: GET /v0/management/accounts on
 * the configured host and port (a wildcard bind address is reached over loopback), with the
 * management key (the plain key from CLIPROXY_MANAGEMENT_KEY or a not-yet-hashed config file;
 * a hashed key cannot be sent). Nothing listening there (refused, timed out) is not an error:
 * the caller then reads the files.
 */
import type { AccountStatus } from '../accounts/account-state.js';
import type { Config } from '../config/schema.js';
import { isManagementKeyHash } from '../server/management/key.js';
import { formatUrl } from '../server/url.js';

export const LIVE_STATUS_PATH = '/v0/management/accounts';
export const DEFAULT_LIVE_TIMEOUT_MS = 500;

export type LiveStatusResult =
  /** The server answered with its accounts. */
  | { kind: 'live'; url: string; accounts: AccountStatus[] }
  /** Nothing answered on that port (connection refused, timeout, port 0). */
  | { kind: 'absent'; url: string }
  /** Something answered, but not with the accounts (wrong API key, another program …): `reason` says what, without secrets. */
  | { kind: 'unusable'; url: string; reason: string };

export interface LiveStatusOptions {
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The address a client uses to reach a server bound to `host`: 0.0.0.0 / :: / empty mean "every interface", reached over loopback. */
export function reachableHost(host: string): string {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1');
  if (h === '' || h === '0.0.0.0' || h === '::' || h === '::0') return '127.0.0.1';
  return h;
}

/** http://host:port of the server `config` describes (IPv6 hosts in brackets). */
export function serverBaseUrl(config: Pick<Config, 'host' | 'port'>): string {
  return formatUrl(reachableHost(config.host), config.port);
}

function looksLikeStatuses(value: unknown): value is AccountStatus[] {
  return (
    Array.isArray(value) &&
    value.every((a) => {
      if (typeof a !== 'object' || a === null) return false;
      const r = a as Record<string, unknown>;
      return typeof r.accountId === 'string' && typeof r.state === 'string' && typeof r.requests === 'number';
    })
  );
}

/** The management key `cliproxy status` can send: a plain key (env or an unhashed file), never a hash. */
export function sendableManagementKey(management: Pick<Config['management'], 'secretKey'>): string | undefined {
  const key = management.secretKey;
  return key !== null && !isManagementKeyHash(key) ? key : undefined;
}

function refusal(status: number, sentKey: boolean): string {
  if (status === 404) return 'its management API is off (start it with remote-management.secret-key or CLIPROXY_MANAGEMENT_KEY)';
  if (status === 401) return sentKey ? 'it refused the management key (401)' : 'it needs the management key: set CLIPROXY_MANAGEMENT_KEY (401)';
  if (status === 403) return 'its management API only answers on loopback (403)';
  if (status === 429) return 'too many wrong management keys from here; it locked this address out for a minute (429)';
  return `it answered HTTP ${status}`;
}

export async function fetchLiveStatus(config: Pick<Config, 'host' | 'port' | 'management'>, opts: LiveStatusOptions = {}): Promise<LiveStatusResult> {
  const url = serverBaseUrl(config);
  if (config.port === 0) return { kind: 'absent', url };
  const doFetch = opts.fetch ?? fetch;
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = sendableManagementKey(config.management);
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  const signal = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_LIVE_TIMEOUT_MS);
  let res: Response;
  try {
    res = await doFetch(`${url}${LIVE_STATUS_PATH}`, { headers, signal, redirect: 'manual' });
  } catch {
    return { kind: 'absent', url };
  }
  let body: unknown;
  try {
    const text = await res.text();
    body = res.ok ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) return { kind: 'unusable', url, reason: refusal(res.status, key !== undefined) };
  const accounts = typeof body === 'object' && body !== null ? (body as { accounts?: unknown }).accounts : undefined;
  if (!looksLikeStatuses(accounts)) return { kind: 'unusable', url, reason: 'its answer is not a cliproxy account list' };
  return { kind: 'live', url, accounts };
}
