/**
 * Masking for secrets. Secrets cross exactly two boundaries (the store and the upstream
 * request headers); everything that leaves through logs, errors, metrics or status output
 * goes through these helpers first.
 */

/** `sk-abc…xyz` style mask: keeps at most 4 leading and 4 trailing characters of long values. */
export function maskSecret(value: string | undefined | null): string {
  if (!value) return '';
  if (value.length <= 12) return '****';
  return `${value.slice(0, 4)}…${value.slice(-4)}`;
}

/** Field names whose values are secrets wherever they appear (JSON bodies, headers, logs). */
export const SECRET_FIELD_NAMES = [
  'access_token',
  'refresh_token',
  'id_token',
  'accessToken',
  'refreshToken',
  'idToken',
  'authorization',
  'Authorization',
  'x-api-key',
  'api_key',
  'apiKey',
  'api-keys',
  'apiKeys',
  'device_auth_id',
  'user_code',
  'code_verifier',
  'authorization_code',
  'code',
] as const;

/** pino `redact` paths covering request headers and common body/object shapes. */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.accessToken',
  '*.refreshToken',
  '*.idToken',
  '*.apiKey',
  '*.api_key',
  '*.code_verifier',
  '*.device_auth_id',
  '*.user_code',
];

const JWT_RE = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const BEARER_RE = /(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;

/** Scrubs anything that looks like a JWT or a bearer token out of free text (error messages from upstreams). */
export function scrubText(text: string, extraSecrets: readonly string[] = []): string {
  let out = text.replace(JWT_RE, '[redacted-jwt]').replace(BEARER_RE, '$1[redacted]');
  for (const s of extraSecrets) {
    if (s && s.length >= 6) out = out.split(s).join('[redacted]');
  }
  return out;
}
