/**
 * Keeping secrets out of output. Secrets cross exactly two boundaries (the store and the
 * upstream request headers); everything that leaves through logs, errors, metrics or status
 * output goes through these helpers first.
 */

/**
 * Field names whose values are secrets wherever they appear (log objects, headers, bodies).
 * Both the pino redact paths of the server and the CLI's stderr logger are derived from this
 * one list. (`code` is deliberately absent: it names error codes far more often than OAuth codes.)
 */
export const SECRET_FIELD_NAMES: readonly string[] = [
  'access_token',
  'refresh_token',
  'id_token',
  'accessToken',
  'refreshToken',
  'idToken',
  'authorization',
  'Authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api_key',
  'apiKey',
  'api-keys',
  'apiKeys',
  'device_auth_id',
  'deviceAuthId',
  'user_code',
  'userCode',
  'code_verifier',
  'codeVerifier',
  'authorization_code',
  'postgres-url',
  'postgresUrl',
  'encryption-key',
  'encryptionKey',
  'sealed',
];

const SECRET_FIELDS: ReadonlySet<string> = new Set(SECRET_FIELD_NAMES);

/** Whether a property with this name holds a secret (exact, case-sensitive match). */
export function isSecretField(name: string): boolean {
  return SECRET_FIELDS.has(name);
}

/** `name` as a pino path segment: `.name` for identifiers, `["x-api-key"]` otherwise. */
function pathSegment(name: string, first: boolean): string {
  if (/^[A-Za-z_$][\w$]*$/.test(name)) return first ? name : `.${name}`;
  return `[${JSON.stringify(name)}]`;
}

/**
 * pino `redact` paths: every secret field name at the top level, one level deep and two levels
 * deep (`accessToken`, `*.accessToken`, `*.*.accessToken`; `req.headers.authorization` is the
 * last form).
 */
export const LOG_REDACT_PATHS: string[] = SECRET_FIELD_NAMES.flatMap((name) => [
  pathSegment(name, true),
  `*${pathSegment(name, false)}`,
  `*.*${pathSegment(name, false)}`,
]);

/** The censor both loggers write in place of a secret. */
export const REDACTED = '[redacted]';

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

/** An email for display where the full address must not appear: `alice@example.com` → `a***@example.com`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return email.length > 0 ? `${email[0]}***` : email;
  return `${email[0]}***${email.slice(at)}`;
}
