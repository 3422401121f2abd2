import type { Writable } from 'node:stream';
import type { Clock } from '../util/clock.js';
import { scrubText } from '../util/redact.js';
import { exchangeFailure, LoginError, loginCancelled } from './login-error.js';
import type { LoginResult } from './browser-login.js';
import { startSpinner } from './spinner.js';
import { IssuerUnreachable, postToIssuer } from './issuer-post.js';
import { parseTokenError, TokenClient } from './token-client.js';

/**
 * Device-code sign-in (protocol.md §2). The user code is printed once, on the
 * "Enter this code:" line, and appears in no other message.
 */
const DEVICE_CODE_LIFETIME_MS = 15 * 60_000;
const DEFAULT_INTERVAL_S = 5;
const MAX_CONSECUTIVE_NETWORK_FAILURES = 5;

export interface DeviceLoginDeps {
  issuer: string;
  clientId: string;
  clock: Clock;
  /** The "Please visit / Enter this code / Waiting" lines. */
  stdout: Writable & { isTTY?: boolean };
  /** Warnings (network retries). */
  stderr: Writable;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Give up after this long; default 15 minutes. */
  maxWaitMs?: number;
  /** Called once the code is known (a server-side login hands it to its caller instead of a terminal). */
  onUserCode?(code: { verificationUrl: string; userCode: string }): void;
}

const DEVICE_EXPIRED_MESSAGE = 'Device code expired: run -codex-device-login again';

interface UserCode {
  deviceAuthId: string;
  userCode: string;
  intervalMs: number;
}

function parseInterval(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_INTERVAL_S;
}

/** Why the issuer could not be reached (IssuerUnreachable's reason), for the messages below. */
function networkReason(err: unknown): string {
  return err instanceof IssuerUnreachable ? err.reason : err instanceof Error ? err.message : String(err);
}

export async function deviceLogin(deps: DeviceLoginDeps): Promise<LoginResult> {
  const issuer = deps.issuer.replace(/\/+$/, '');
  const fetchFn = deps.fetch ?? fetch;
  const signal = deps.signal;
  if (signal?.aborted) throw loginCancelled();

  async function post(path: string, body: unknown): Promise<{ status: number; text: string }> {
    try {
      const res = await postToIssuer({ fetch: fetchFn, url: `${issuer}${path}`, contentType: 'application/json', body: JSON.stringify(body), timeoutMs: 30_000, signal });
      return { status: res.status, text: await res.text().catch(() => '') };
    } catch (err) {
      if (signal?.aborted) throw loginCancelled();
      throw err;
    }
  }

  // 1. ask for a user code
  let start: { status: number; text: string };
  try {
    start = await post('/api/accounts/deviceauth/usercode', { client_id: deps.clientId });
  } catch (err) {
    if (err instanceof LoginError) throw err;
    throw new LoginError(`Could not start device login: cannot reach ${issuer} (${networkReason(err)}). Check your network connection and try again.`);
  }
  if (start.status === 404) {
    throw new LoginError(
      'Device code login is not enabled for this account or workspace (HTTP 404). Enable it in ChatGPT security settings ' +
        '(workspace admins: workspace permissions), or sign in with the browser instead: cliproxy login (-codex-login).',
    );
  }
  if (start.status !== 200) {
    const { code, description } = parseTokenError(start.text);
    throw new LoginError(
      scrubText(`Could not start device login: HTTP ${start.status}${code ? ` ${code}` : ''}${description ? `: ${description}` : ''}. Try again in a few minutes; if it keeps failing, use the browser login (-codex-login).`),
    );
  }
  const uc = parseUserCode(start.text);

  // 2. tell the person
  deps.stdout.write(`Please visit: ${issuer}/codex/device\n`);
  deps.stdout.write(`Enter this code: ${uc.userCode}\n`);
  deps.onUserCode?.({ verificationUrl: `${issuer}/codex/device`, userCode: uc.userCode });
  const spinner = startSpinner(deps.stdout, 'Waiting for authorization...');

  // 3. poll
  const deadline = deps.clock.now() + (deps.maxWaitMs ?? DEVICE_CODE_LIFETIME_MS);
  let intervalMs = uc.intervalMs;
  let networkFailures = 0;
  let grant: { authorizationCode: string; codeVerifier: string; codeChallenge: string };
  try {
    for (;;) {
      const wait = Math.min(intervalMs, Math.max(0, deadline - deps.clock.now()));
      try {
        await deps.clock.sleep(wait, signal);
      } catch {
        throw loginCancelled();
      }
      if (deps.clock.now() >= deadline) {
        throw new LoginError(`${DEVICE_EXPIRED_MESSAGE} (no approval within ${formatDuration(deps.maxWaitMs ?? DEVICE_CODE_LIFETIME_MS)}).`);
      }
      let res: { status: number; text: string };
      try {
        res = await post('/api/accounts/deviceauth/token', { device_auth_id: uc.deviceAuthId, user_code: uc.userCode });
      } catch (err) {
        if (err instanceof LoginError) throw err;
        networkFailures += 1;
        if (networkFailures >= MAX_CONSECUTIVE_NETWORK_FAILURES) {
          throw new LoginError(`Polling failed: cannot reach ${issuer} (${networkReason(err)}). Check your network connection and run -codex-device-login again.`);
        }
        deps.stderr.write(`Warning: cannot reach ${issuer} (${networkReason(err)}); still waiting.\n`);
        continue;
      }
      networkFailures = 0;
      if (res.status === 403 || res.status === 404) continue; // pending
      if (res.status === 429) {
        intervalMs += 5000; // slow_down
        continue;
      }
      if (res.status === 200) {
        grant = parseGrant(res.text);
        break;
      }
      throw pollFailure(res.status, res.text, [uc.userCode, uc.deviceAuthId]);
    }
  } finally {
    spinner.stop();
  }

  // 4. exchange (redirect_uri = {issuer}/deviceauth/callback, server-made verifier)
  const client = new TokenClient({ issuer, clientId: deps.clientId, fetch: deps.fetch });
  try {
    const tokens = await client.exchangeCode(
      { code: grant.authorizationCode, redirectUri: `${issuer}/deviceauth/callback`, codeVerifier: grant.codeVerifier },
      signal,
    );
    return { tokens, pkce: { method: 'S256', challenge: grant.codeChallenge } };
  } catch (err) {
    if (signal?.aborted) throw loginCancelled();
    throw exchangeFailure(err).error;
  }
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 60 === 0) return `${s / 60} minute${s === 60 ? '' : 's'}`;
  return `${s} s`;
}

function parseUserCode(text: string): UserCode {
  let j: Record<string, unknown> = {};
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  const deviceAuthId = typeof j.device_auth_id === 'string' ? j.device_auth_id : undefined;
  const userCode = typeof j.user_code === 'string' ? j.user_code : typeof j.usercode === 'string' ? j.usercode : undefined;
  if (!deviceAuthId || !userCode) {
    throw new LoginError('Could not start device login: the issuer answered without a device code. Try again, or use the browser login (-codex-login).');
  }
  return { deviceAuthId, userCode, intervalMs: parseInterval(j.interval) * 1000 };
}

function parseGrant(text: string): { authorizationCode: string; codeVerifier: string; codeChallenge: string } {
  let j: Record<string, unknown> = {};
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  const authorizationCode = typeof j.authorization_code === 'string' ? j.authorization_code : '';
  const codeVerifier = typeof j.code_verifier === 'string' ? j.code_verifier : '';
  const codeChallenge = typeof j.code_challenge === 'string' ? j.code_challenge : '';
  if (!authorizationCode || !codeVerifier) {
    throw new LoginError('Authentication failed: the device authorization answer lacks the authorization code or verifier. Run -codex-device-login again.');
  }
  return { authorizationCode, codeVerifier, codeChallenge };
}

/** A poll answer other than 200/403/404/429: expired, invalid, or something else (named by status). */
function pollFailure(status: number, text: string, secrets: string[]): LoginError {
  const { code, description } = parseTokenError(text);
  const what = `${code ?? ''} ${description ?? ''}`;
  if (status === 410 || /expired/i.test(what)) return new LoginError(`${DEVICE_EXPIRED_MESSAGE}.`);
  if (code === 'access_denied') {
    return new LoginError(scrubText(`Authentication failed: ${(description ?? 'the device authorization was denied').trim().replace(/\.$/, '')} (access_denied). Run -codex-device-login again and approve the request.`, secrets));
  }
  if (/invalid|unknown|not[ _]found|does not match/i.test(what)) {
    return new LoginError(
      `Invalid device code (HTTP ${status}): the issuer does not recognise this device code. ` +
        'Run -codex-device-login again for a new code and enter it exactly as shown (case-sensitive, no extra spaces).',
    );
  }
  const detail = description ?? code;
  return new LoginError(
    scrubText(
      `Device authorization failed: HTTP ${status}${detail ? `: ${detail}` : ''}. Run -codex-device-login again; if it keeps failing, check the service status or use the browser login (-codex-login).`,
      secrets,
    ),
  );
}
