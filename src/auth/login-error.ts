import { CliError } from '../errors.js';
import { TokenEndpointError } from './token-errors.js';

/** A login that did not produce tokens. The message is for the person at the terminal (no secrets). */
export class LoginError extends CliError {
  constructor(message: string, exitCode = 1) {
    super(message, exitCode);
    this.name = 'LoginError';
  }
}

/** Ctrl-C / SIGTERM during a login: exit code 130 like a shell. */
export function loginCancelled(): LoginError {
  return new LoginError('Login cancelled.', 130);
}

/** Extra advice when the issuer rejected the PKCE verifier (seed troubleshooting: "PKCE verification failed"). */
function pkceHint(message: string): string {
  if (!/pkce|code[_ ]verifier|code[_ ]challenge/i.test(message)) return '';
  return (
    '\nPKCE verification failed: the code_verifier sent with the code did not match the code_challenge of the sign-in URL.' +
    ' Do not edit the sign-in URL, make sure no proxy rewrites it, and run the login again (every attempt makes a fresh PKCE pair).'
  );
}

/**
 * A failed authorization-code exchange (browser or device login): `summary` is the one line for
 * the browser's error page, `error` the LoginError for the terminal (with the PKCE advice when
 * the issuer complained about the verifier). TokenEndpointError messages are already scrubbed.
 */
export function exchangeFailure(err: unknown): { summary: string; error: LoginError } {
  const message = err instanceof TokenEndpointError ? err.message : `Token exchange failed: ${err instanceof Error ? err.message : String(err)}`;
  const summary = `Authentication failed: ${message}`;
  return { summary, error: new LoginError(`${summary}${pkceHint(message)}`) };
}
