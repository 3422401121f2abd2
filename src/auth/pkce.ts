import { createHash, randomBytes } from 'node:crypto';

/**
 * PKCE (RFC 7636, S256) and the OAuth `state` exactly as the Codex CLI makes them
 * (protocol.md §1): verifier = 64 random bytes base64url (86 chars), challenge =
 * base64url(SHA-256(verifier)), state = 32 random bytes base64url.
 */
export interface PkcePair {
  verifier: string;
  challenge: string;
  method: 'S256';
}

export function challengeFor(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function generatePkce(random: (n: number) => Buffer = randomBytes): PkcePair {
  const verifier = random(64).toString('base64url');
  return { verifier, challenge: challengeFor(verifier), method: 'S256' };
}

export function generateState(random: (n: number) => Buffer = randomBytes): string {
  return random(32).toString('base64url');
}

export interface AuthorizeUrlParams {
  issuer: string;
  clientId: string;
  redirectUri: string;
  challenge: string;
  state: string;
  originator: string;
}

/** `{issuer}/oauth/authorize?…` with the parameters in the order protocol.md §1.3 gives. */
export function buildAuthorizeUrl(p: AuthorizeUrlParams): string {
  const params = new URLSearchParams();
  params.append('response_type', 'code');
  params.append('client_id', p.clientId);
  params.append('redirect_uri', p.redirectUri);
  params.append('scope', 'openid profile email offline_access');
  params.append('code_challenge', p.challenge);
  params.append('code_challenge_method', 'S256');
  params.append('id_token_add_organizations', 'true');
  params.append('codex_cli_simplified_flow', 'true');
  params.append('state', p.state);
  params.append('originator', p.originator);
  // URLSearchParams encodes spaces as '+'; the authorize endpoint expects %20 like the Codex CLI sends.
  return `${p.issuer.replace(/\/+$/, '')}/oauth/authorize?${params.toString().replace(/\+/g, '%20')}`;
}

/** redirect_uri for a callback server on `port` (always `localhost`, never the IP). */
export function callbackRedirectUri(port: number): string {
  return `http://localhost:${port}/auth/callback`;
}
