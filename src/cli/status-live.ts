/**
 * Asking a running `cliproxy serve` for its per-account state: GET /v0/management/accounts on
 * the configured host and port (a wildcard bind address is reached over loopback), with the
 * first configured API key. Nothing listening there (refused, timed out) is not an error: the
 * caller then reads the files.
 */
import type { AccountStatus } from '../accounts/account-state.js';
import type { Config } from '../config/schema.js';
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

export async function fetchLiveStatus(config: Pick<Config, 'host' | 'port' | 'apiKeys'>, opts: LiveStatusOptions = {}): Promise<LiveStatusResult> {
  const url = serverBaseUrl(config);
  if (config.port === 0) return { kind: 'absent', url };
  const doFetch = opts.fetch ?? fetch;
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = config.apiKeys[0];
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
  if (!res.ok) {
    const why = res.status === 401 ? 'it refused the API key (401)' : `it answered HTTP ${res.status}`;
    return { kind: 'unusable', url, reason: why };
  }
  const accounts = typeof body === 'object' && body !== null ? (body as { accounts?: unknown }).accounts : undefined;
  if (!looksLikeStatuses(accounts)) return { kind: 'unusable', url, reason: 'its answer is not a cliproxy account list' };
  return { kind: 'live', url, accounts };
}
