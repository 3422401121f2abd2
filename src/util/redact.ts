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

/** The censor both loggers write in place of a secret. */
export const REDACTED = '[redacted]';

/** How deep censorSecrets looks (a log object nested deeper than this is not expected). */
const MAX_CENSOR_DEPTH = 8;

/**
 * A log object with every field named like a secret (SECRET_FIELD_NAMES, at any depth up to 8,
 * in plain objects, arrays and errors) replaced by REDACTED. Copy on write: an object without a
 * secret field comes back as it is, untouched and uncopied, so the usual log line costs one look
 * at each key. The server's pino logger runs it as its `formatters.log` and `formatters.bindings`
 * (PINO_SECRET_FORMATTERS): one pass per line, where pino's path-based `redact` with wildcard
 * paths cloned and walked the object once per top-level key (a tenth of the proxy's CPU time
 * under load; the README's performance section).
 */
export function censorSecrets<T>(value: T): T {
  return censor(value, 0) as T;
}

function censor(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object' || depth >= MAX_CENSOR_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i] as unknown;
      const c = censor(v, depth + 1);
      if (c !== v) (copy ??= value.slice())[i] = c;
    }
    return copy ?? value;
  }
  if (value instanceof Error) return censorError(value, depth);
  const proto = Object.getPrototypeOf(value) as unknown;
  // class instances (Buffers, Dates, URLs, streams) are left to their own serialisation
  if (proto !== Object.prototype && proto !== null) return value;
  const rec = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in rec) {
    const v = rec[key];
    const c = isSecretField(key) && v !== undefined && v !== null ? REDACTED : censor(v, depth + 1);
    if (c !== v) (copy ??= { ...rec })[key] = c;
  }
  return copy ?? value;
}

/** An error whose own fields (or cause) hold a secret: a copy of the same class with those censored. */
function censorError(err: Error, depth: number): Error {
  let copy: Error | undefined;
  for (const key of Object.keys(err)) {
    const v = (err as unknown as Record<string, unknown>)[key];
    const c = isSecretField(key) && v !== undefined && v !== null ? REDACTED : censor(v, depth + 1);
    if (c !== v) {
      copy ??= copyError(err);
      (copy as unknown as Record<string, unknown>)[key] = c;
    }
  }
  if (err.cause !== undefined) {
    const c = censor(err.cause, depth + 1);
    if (c !== err.cause) {
      copy ??= copyError(err);
      copy.cause = c;
    }
  }
  return copy ?? err;
}

function copyError(err: Error): Error {
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error;
  for (const key of Object.getOwnPropertyNames(err)) {
    Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(err, key)!);
  }
  return copy;
}

/**
 * pino `formatters` that censor secret fields in every line and in the root logger's bindings
 * (pino runs no bindings formatter for a child's bindings: the code binds no secrets there,
 * only `reqId` and `component`).
 */
export const PINO_SECRET_FORMATTERS = {
  log: (obj: Record<string, unknown>): Record<string, unknown> => censorSecrets(obj),
  bindings: (bindings: Record<string, unknown>): Record<string, unknown> => censorSecrets(bindings),
};

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
