import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { TokenSet } from '../accounts/credential.js';
import type { Clock } from '../util/clock.js';
import { startCallbackServer, type CallbackReply } from './callback-server.js';
import { exchangeFailure, LoginError, loginCancelled } from './login-error.js';
import { parsePastedRedirect, type CallbackOutcome } from './paste-redirect.js';
import { buildAuthorizeUrl, callbackRedirectUri, generatePkce, generateState, type PkcePair } from './pkce.js';
import { TokenClient } from './token-client.js';

/**
 * Browser sign-in: OAuth authorization code + PKCE (protocol.md §1).
 * Order matters: listen first, then print the URL, then open the browser.
 */
const DEFAULT_CALLBACK_PORT = 1455;
const DEFAULT_CALLBACK_TIMEOUT_MS = 300_000;

export interface BrowserLoginDeps {
  issuer: string;
  clientId: string;
  originator: string;
  /** Callback port; default 1455. 0 picks a free port (tests). */
  port?: number;
  /** How long to wait for the callback (or a pasted URL); default 300 s. */
  timeoutMs?: number;
  clock: Clock;
  /** The authorize URL is printed here. */
  stdout: Writable;
  /** Hints and warnings. */
  stderr: Writable;
  /** When given, lines are read from it: a person may paste the final redirected URL. */
  stdin?: Readable;
  /** Opens the URL in a browser; null/undefined = --no-browser. A failure is a warning, not an error. */
  openBrowser?: ((url: string) => Promise<void>) | null;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Normally generated; tests may fix them. */
  pkce?: PkcePair;
  state?: string;
  /** Called with the authorize URL once it is printed (tests, callers that want it). */
  onAuthorizeUrl?(url: string): void;
  /** How long (real time) to keep the server up for the browser to load /success; default 3 s. */
  successGraceMs?: number;
}

export interface LoginResult {
  tokens: TokenSet;
  pkce?: { method: 'S256'; challenge: string };
}

function outcomeError(outcome: Exclude<CallbackOutcome, { kind: 'code' } | { kind: 'state-mismatch' }>): LoginError {
  if (outcome.kind === 'error') {
    const desc = outcome.description ? `${outcome.description.trim().replace(/\.$/, '')} (${outcome.error})` : outcome.error;
    return new LoginError(`Authentication failed: ${desc}. Run the login again to retry.`);
  }
  return new LoginError('Authentication failed: the callback carried no authorization code. Run the login again and complete the sign-in in the browser.');
}

export async function browserLogin(deps: BrowserLoginDeps): Promise<LoginResult> {
  if (deps.signal?.aborted) throw loginCancelled();
  const pkce = deps.pkce ?? generatePkce();
  const state = deps.state ?? generateState();
  const requestedPort = deps.port ?? DEFAULT_CALLBACK_PORT;
  const timeoutMs = deps.timeoutMs ?? DEFAULT_CALLBACK_TIMEOUT_MS;
  const tokenClient = new TokenClient({ issuer: deps.issuer, clientId: deps.clientId, fetch: deps.fetch });

  let settle!: { resolve: (t: TokenSet) => void; reject: (e: Error) => void };
  const finished = new Promise<TokenSet>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // the outcome may arrive while we are still opening the browser; it is awaited below
  finished.catch(() => undefined);
  let busy = false;
  let done = false;
  let successPageServed: () => void = () => undefined;
  const successPage = new Promise<void>((r) => {
    successPageServed = r;
  });

  // Both the HTTP callback and a pasted URL end up here. Only one exchange runs at a time.
  let redirectUri = '';
  async function complete(outcome: Exclude<CallbackOutcome, { kind: 'state-mismatch' }>): Promise<CallbackReply> {
    if (done) return { kind: 'failure', message: 'This sign-in has already finished.' };
    if (busy) return { kind: 'failure', message: 'A sign-in is already being completed.' };
    if (outcome.kind !== 'code') {
      const err = outcomeError(outcome);
      done = true;
      settle.reject(err);
      return { kind: 'failure', message: err.message };
    }
    busy = true;
    try {
      const tokens = await tokenClient.exchangeCode({ code: outcome.code, redirectUri, codeVerifier: pkce.verifier }, deps.signal);
      done = true;
      settle.resolve(tokens);
      return { kind: 'success' };
    } catch (err) {
      const failure = exchangeFailure(err);
      done = true;
      settle.reject(failure.error);
      return { kind: 'failure', message: failure.summary };
    } finally {
      busy = false;
    }
  }

  const server = await startCallbackServer({
    port: requestedPort,
    expectedState: state,
    handle: complete,
    onSuccessPageServed: () => successPageServed(),
  });
  redirectUri = callbackRedirectUri(server.port);
  const cleanups: Array<() => void> = [];
  try {
    const url = buildAuthorizeUrl({ issuer: deps.issuer, clientId: deps.clientId, redirectUri, challenge: pkce.challenge, state, originator: deps.originator });
    deps.stdout.write(`Open this URL in a browser to sign in:\n\n${url}\n\n`);
    deps.onAuthorizeUrl?.(url);
    deps.stderr.write(`Waiting for the sign-in callback on ${redirectUri} (timeout ${Math.round(timeoutMs / 1000)} s).\n`);
    if (deps.stdin) {
      deps.stderr.write('If the browser runs on another machine, paste the address it ends up on (http://localhost:…/auth/callback?code=…) here and press Enter.\n');
    }
    if (deps.openBrowser) {
      try {
        await deps.openBrowser(url);
      } catch (err) {
        deps.stderr.write(`Could not open a browser (${(err as Error).message}). Open the URL above manually, or run again with -no-browser.\n`);
      }
    }

    const timer = deps.clock.schedule(timeoutMs, () => {
      if (done) return;
      done = true;
      settle.reject(
        new LoginError(
          `Callback timeout: no sign-in callback reached ${redirectUri} within ${Math.round(timeoutMs / 1000)} s. ` +
            `Complete the sign-in sooner (or raise --timeout), check that no firewall blocks 127.0.0.1:${server.port}, ` +
            'and verify that localhost resolves to this machine. On a remote machine paste the redirected URL into the terminal, or use -codex-device-login.',
        ),
      );
    });
    cleanups.push(timer);

    if (deps.signal) {
      const onAbort = () => {
        if (done) return;
        done = true;
        settle.reject(loginCancelled());
      };
      deps.signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => deps.signal?.removeEventListener('abort', onAbort));
    }

    if (deps.stdin) {
      const rl = createInterface({ input: deps.stdin, terminal: false });
      rl.on('line', (line) => {
        if (done || busy || !line.trim()) return;
        const outcome = parsePastedRedirect(line, state);
        if (outcome === null) {
          deps.stderr.write(`That is not the redirected URL. Paste the whole address from the browser's address bar (it starts with ${redirectUri}?code=).\n`);
          return;
        }
        if (outcome.kind === 'state-mismatch') {
          deps.stderr.write('That URL belongs to a different sign-in attempt (state does not match). Paste the address from the attempt started by this command.\n');
          return;
        }
        void complete(outcome).then((reply) => {
          if (reply.kind === 'success') successPageServed();
        });
      });
      cleanups.push(() => rl.close());
    }

    const tokens = await finished;
    // let the browser load /success before the server goes away
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([successPage, new Promise<void>((r) => (graceTimer = setTimeout(r, deps.successGraceMs ?? 3000)))]);
    clearTimeout(graceTimer);
    return { tokens, pkce: { method: 'S256', challenge: pkce.challenge } };
  } finally {
    for (const c of cleanups) c();
    await server.close();
  }
}
