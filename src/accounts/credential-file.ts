import { createHash } from 'node:crypto';
import { readClaims } from '../auth/id-token-claims.js';
import type { AuthMethod, Credential } from './credential.js';
import { openEnvelope, PLAIN, StoreKeyError, type StoreCrypto } from './store-cipher.js';

/**
 * The token file format (one JSON object per account), compatible with CLIProxyAPI's flat
 * fields, plus our `auth_method`, `pkce`, `needs_login` and `checksum`:
 *
 *   type:"codex", email, account_id, plan_type, id_token, access_token, refresh_token,
 *   token_type, expired (RFC3339, access-token expiry), last_refresh (RFC3339), auth_method,
 *   pkce {method, challenge}, disabled, needs_login {reason, at (RFC3339)} (only when set),
 *   any other fields found in the file (proxy_url, priority, note, …) kept verbatim,
 *   checksum.
 * With an encryption key (store-cipher.ts) `id_token`, `access_token` and `refresh_token` are
 * left out and `sealed` (the versioned envelope) holds them; the rest stays readable.
 *
 * CHECKSUM: lowercase hex SHA-256 of the UTF-8 bytes of the canonical JSON of the top-level
 * object WITHOUT its `checksum` key. Canonical JSON = JSON.stringify-style encoding with no
 * whitespace, object keys sorted by JavaScript's default string order (UTF-16 code units)
 * at every depth, array order kept, keys whose value is `undefined` left out. Files without
 * a `checksum` (CLIProxyAPI, hand-written) load as they are; a present checksum that does
 * not match makes the file "corrupt".
 */
export class CredentialFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialFileError';
  }
}

/** What can be read of an account whose tokens cannot be decrypted (for `status` and the start-up error). */
export interface LockedMeta {
  accountId: string;
  email: string;
  planType: string;
  expiresAt: number | null;
}

/** The tokens are encrypted and this process has no key, or another key, for them. */
export class CredentialLockedError extends CredentialFileError {
  constructor(
    message: string,
    readonly meta: LockedMeta,
  ) {
    super(message);
    this.name = 'CredentialLockedError';
  }
}

const KNOWN_FIELDS = new Set([
  'type',
  'email',
  'account_id',
  'plan_type',
  'id_token',
  'access_token',
  'refresh_token',
  'token_type',
  'expired',
  'last_refresh',
  'auth_method',
  'pkce',
  'disabled',
  'needs_login',
  'sealed',
  'checksum',
]);

const AUTH_METHODS: readonly AuthMethod[] = ['oauth', 'device', 'import'];

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function computeChecksum(fields: Record<string, unknown>): string {
  const { checksum: _ignored, ...rest } = fields;
  void _ignored;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}

function iso(ms: number | null): string | undefined {
  return ms === null || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();
}

/** The object written to disk, checksum included; the tokens sealed when `crypto` has a key. */
export function credentialToFileObject(c: Credential, crypto: StoreCrypto = PLAIN): Record<string, unknown> {
  const sealed = crypto.seal?.seal(c, c.accountId);
  const fields: Record<string, unknown> = {
    type: 'codex',
    email: c.email,
    account_id: c.accountId,
    plan_type: c.planType,
    id_token: sealed ? undefined : c.idToken,
    access_token: sealed ? undefined : c.accessToken,
    refresh_token: sealed ? undefined : c.refreshToken,
    sealed,
    token_type: c.tokenType,
    expired: iso(c.expiresAt),
    last_refresh: iso(c.lastRefresh),
    auth_method: c.authMethod,
    pkce: c.pkce ? { method: c.pkce.method, challenge: c.pkce.challenge } : undefined,
    disabled: c.disabled,
    needs_login: c.needsLogin ? { reason: c.needsLogin.reason, at: iso(c.needsLogin.at) } : undefined,
  };
  for (const [k, v] of Object.entries(c.extra ?? {})) {
    if (!KNOWN_FIELDS.has(k) && v !== undefined) fields[k] = v;
  }
  for (const k of Object.keys(fields)) if (fields[k] === undefined) delete fields[k];
  return { ...fields, checksum: computeChecksum(fields) };
}

export function serializeCredential(c: Credential, crypto: StoreCrypto = PLAIN): string {
  return `${JSON.stringify(credentialToFileObject(c, crypto), null, 2)}\n`;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function time(v: unknown, field: string): number | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'number' && Number.isFinite(v)) return v > 1e12 ? v : v * 1000;
  if (typeof v !== 'string') throw new CredentialFileError(`${field} is not an RFC3339 time`);
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new CredentialFileError(`${field} "${v}" is not an RFC3339 time`);
  return ms;
}

/**
 * "not valid JSON", with the position of the error when the parser gives one. Never the
 * parser's message itself: V8 quotes a piece of the text (a token fragment) in it.
 */
function jsonErrorReason(err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  const at = /\bposition (\d+)/.exec(message);
  if (at) return `not valid JSON (at character ${at[1]})`;
  if (/unexpected end of JSON input/i.test(message)) return 'not valid JSON (the text ends too early)';
  return 'not valid JSON';
}

/**
 * Parses a token file's text. Throws CredentialFileError with the reason when it cannot be
 * used (CredentialLockedError when its sealed tokens cannot be opened with `crypto`).
 */
export function parseCredentialFile(text: string, crypto: StoreCrypto = PLAIN): Credential {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CredentialFileError(jsonErrorReason(err));
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new CredentialFileError('not a JSON object');
  const j = raw as Record<string, unknown>;
  if (j.type !== undefined && j.type !== 'codex') throw new CredentialFileError(`type is ${JSON.stringify(j.type)}, not "codex"`);
  if (j.checksum !== undefined) {
    if (typeof j.checksum !== 'string' || j.checksum.toLowerCase() !== computeChecksum(j)) {
      throw new CredentialFileError('checksum mismatch (the file was edited or damaged)');
    }
  }
  if (j.sealed !== undefined) unseal(j, crypto);
  const accessToken = str(j.access_token);
  const refreshToken = str(j.refresh_token);
  if (!accessToken) throw new CredentialFileError('access_token is missing');
  if (!refreshToken) throw new CredentialFileError('refresh_token is missing');
  const idToken = typeof j.id_token === 'string' ? j.id_token : '';
  const idClaims = readClaims(idToken);
  const accessClaims = readClaims(accessToken);
  const accountId = str(j.account_id) ?? idClaims.accountId ?? accessClaims.accountId;
  if (!accountId) throw new CredentialFileError('account_id is missing and the tokens carry no chatgpt_account_id');
  const authMethod = AUTH_METHODS.includes(j.auth_method as AuthMethod) ? (j.auth_method as AuthMethod) : 'import';
  const pkceRaw = j.pkce as Record<string, unknown> | undefined;
  const pkce = pkceRaw && typeof pkceRaw === 'object' && pkceRaw.method === 'S256' && typeof pkceRaw.challenge === 'string'
    ? { method: 'S256' as const, challenge: pkceRaw.challenge }
    : undefined;
  const nlRaw = j.needs_login as Record<string, unknown> | undefined;
  const needsLogin = nlRaw && typeof nlRaw === 'object' && typeof nlRaw.reason === 'string'
    ? { reason: nlRaw.reason, at: time(nlRaw.at, 'needs_login.at') ?? 0 }
    : undefined;
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(j)) if (!KNOWN_FIELDS.has(k)) extra[k] = v;
  return {
    accountId,
    email: str(j.email) ?? idClaims.email ?? accessClaims.email ?? 'unknown',
    planType: str(j.plan_type) ?? idClaims.planType ?? accessClaims.planType ?? 'unknown',
    idToken,
    accessToken,
    refreshToken,
    tokenType: str(j.token_type) ?? 'Bearer',
    expiresAt: time(j.expired, 'expired') ?? accessClaims.expiresAt ?? null,
    lastRefresh: time(j.last_refresh, 'last_refresh'),
    authMethod,
    ...(pkce ? { pkce } : {}),
    disabled: j.disabled === true,
    ...(needsLogin ? { needsLogin } : {}),
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
  };
}

/** Puts the sealed tokens of a parsed file object back in place (throws CredentialLockedError when they cannot be opened). */
function unseal(j: Record<string, unknown>, crypto: StoreCrypto): void {
  const accountId = str(j.account_id);
  if (!accountId) throw new CredentialFileError('account_id is missing (required with sealed tokens)');
  try {
    const t = openEnvelope(crypto, j.sealed, accountId);
    j.id_token = t.idToken;
    j.access_token = t.accessToken;
    j.refresh_token = t.refreshToken;
    delete j.sealed;
  } catch (err) {
    if (!(err instanceof StoreKeyError)) throw err;
    let expiresAt: number | null = null;
    try {
      expiresAt = time(j.expired, 'expired');
    } catch {
      expiresAt = null;
    }
    throw new CredentialLockedError(err.message, { accountId, email: str(j.email) ?? 'unknown', planType: str(j.plan_type) ?? 'unknown', expiresAt });
  }
}
