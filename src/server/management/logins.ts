/**
 * Sign-ins started by the management API, run inside the server: a device-code login (the
 * caller shows the code and the link) or a browser login (the caller opens the link; the
 * callback server follows the CLI's rules: port 1455 unless another is asked for). The caller
 * polls GET …/logins/:id until done (with the account, which serves at once) or failed (with
 * the reason). Nothing about a login (codes, tokens) is logged.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { AccountStatus } from '../../accounts/account-state.js';
import type { AccountPool } from '../../accounts/pool.js';
import { browserLogin, type LoginResult } from '../../auth/browser-login.js';
import { credentialFromTokens } from '../../auth/credential-from-tokens.js';
import { deviceLogin } from '../../auth/device-login.js';
import { LoginError } from '../../auth/login-error.js';
import type { Config } from '../../config/schema.js';
import type { Clock } from '../../util/clock.js';
import { scrubText } from '../../util/redact.js';
import { managedAccount, type ManagedAccount } from './accounts-routes.js';

export type LoginMethod = 'device' | 'browser';

export interface LoginView {
  id: string;
  method: LoginMethod;
  status: 'pending' | 'done' | 'failed';
  /** Where the person signs in: the device page, or the authorize URL. */
  url: string;
  /** The device code to enter (device method, while pending). */
  user_code?: string;
  account?: ManagedAccount;
  error?: string;
  startedAt: string;
}

interface Login {
  view: LoginView;
  abort: AbortController;
  finishedAt: number | null;
}

export interface LoginLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface LoginManagerOptions {
  pool: AccountPool;
  clock: Clock;
  config(): Config;
  log: LoginLogger;
  fetch?: typeof fetch;
  /** Browser logins wait this long for the callback (default 300 s, as the CLI). */
  browserTimeoutMs?: number;
}

/** Logins in progress at once; more are refused (each holds a poller or a callback port). */
export const MAX_PENDING_LOGINS = 4;
/** Finished logins stay visible this long. */
const KEEP_FINISHED_MS = 3_600_000;

/** A stream that drops what is written (the CLI's terminal lines have no reader here). */
function sink(): Writable {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}

export class TooManyLoginsError extends Error {}

export class LoginManager {
  private readonly logins = new Map<string, Login>();

  constructor(private readonly opts: LoginManagerOptions) {}

  get(id: string): LoginView | undefined {
    this.sweep();
    const l = this.logins.get(id);
    return l ? { ...l.view } : undefined;
  }

  /**
   * Starts a login; resolves once the person can act (the device code or the authorize URL is
   * known) with its view, or rejects with the LoginError that stopped it before that.
   */
  async start(method: LoginMethod, options: { callbackPort?: number } = {}): Promise<LoginView> {
    this.sweep();
    const pending = [...this.logins.values()].filter((l) => l.view.status === 'pending').length;
    if (pending >= MAX_PENDING_LOGINS) throw new TooManyLoginsError(`${pending} sign-ins are already waiting; finish or cancel one first.`);
    const id = `login_${randomBytes(9).toString('base64url')}`;
    const abort = new AbortController();
    const config = this.opts.config();
    const common = { issuer: config.codex.issuer, clientId: config.codex.clientId, clock: this.opts.clock, stdout: sink(), stderr: sink(), fetch: this.opts.fetch, signal: abort.signal };

    let ready!: (view: LoginView) => void;
    const readyView = new Promise<LoginView>((resolve) => (ready = resolve));
    const login: Login = { view: { id, method, status: 'pending', url: '', startedAt: new Date(this.opts.clock.now()).toISOString() }, abort, finishedAt: null };

    const running: Promise<LoginResult> =
      method === 'device'
        ? deviceLogin({
            ...common,
            onUserCode: ({ verificationUrl, userCode }) => {
              login.view = { ...login.view, url: verificationUrl, user_code: userCode };
              this.logins.set(id, login);
              ready({ ...login.view });
            },
          })
        : browserLogin({
            ...common,
            originator: config.codex.originator,
            port: options.callbackPort,
            timeoutMs: this.opts.browserTimeoutMs,
            openBrowser: null,
            successGraceMs: 500,
            onAuthorizeUrl: (url) => {
              login.view = { ...login.view, url };
              this.logins.set(id, login);
              ready({ ...login.view });
            },
          });

    const outcome = running.then(
      (result) => this.finish(login, method, result),
      (err: unknown) => this.fail(login, err),
    );
    // a failure before the person could act is the POST's answer
    const early = outcome.then(() => {
      if (!this.logins.has(id)) throw new LoginError(login.view.error ?? 'The sign-in stopped before it started.');
      return { ...login.view };
    });
    return Promise.race([readyView, early]);
  }

  /** Cancels a pending login; false when unknown or already finished. */
  cancel(id: string): boolean {
    const l = this.logins.get(id);
    if (!l || l.view.status !== 'pending') return false;
    l.abort.abort();
    return true;
  }

  /** Stops every pending login (server shutdown). */
  close(): void {
    for (const l of this.logins.values()) if (l.view.status === 'pending') l.abort.abort();
  }

  private async finish(login: Login, method: LoginMethod, result: LoginResult): Promise<void> {
    let status: AccountStatus | null;
    try {
      const credential = credentialFromTokens(result.tokens, method === 'device' ? 'device' : 'oauth', this.opts.clock.now(), result.pkce);
      status = await this.opts.pool.addAccount(credential);
    } catch (err) {
      this.fail(login, err);
      return;
    }
    const { user_code: _code, ...rest } = login.view;
    login.view = { ...rest, status: 'done', ...(status ? { account: managedAccount(status) } : {}) };
    login.finishedAt = this.opts.clock.now();
    this.opts.log.info({ login: login.view.id, method, account: login.view.account?.id }, 'account signed in through the management API');
  }

  private fail(login: Login, err: unknown): void {
    const message = err instanceof LoginError ? err.message : `The sign-in failed: ${scrubText(err instanceof Error ? err.message : String(err))}`;
    const { user_code: _code, ...rest } = login.view;
    login.view = { ...rest, status: 'failed', error: message };
    login.finishedAt = this.opts.clock.now();
    this.opts.log.warn({ login: login.view.id, method: login.view.method, reason: message }, 'sign-in through the management API failed');
  }

  private sweep(): void {
    const now = this.opts.clock.now();
    for (const [id, l] of this.logins) if (l.finishedAt !== null && now - l.finishedAt > KEEP_FINISHED_MS) this.logins.delete(id);
  }
}
