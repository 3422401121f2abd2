import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Credential } from '../accounts/credential.js';
import { credentialFromTokens } from './credential-from-tokens.js';
import { LoginError } from './login-error.js';

/**
 * Import of the official Codex CLI's `auth.json` (protocol.md §3):
 * `{"auth_mode":"chatgpt","OPENAI_API_KEY":null,"tokens":{id_token,access_token,refresh_token,account_id},"last_refresh":"…"}`.
 */
export const SHARED_REFRESH_WARNING =
  'Warning: this account is now also used by the Codex CLI. Refresh tokens are single-use: if both programs keep ' +
  'refreshing the same token, one of them will be signed out (refresh_token_reused). Let only one of them run with ' +
  'this account, or sign in separately with `cliproxy login` to get independent tokens.';

/** `$CODEX_HOME/auth.json`, else `~/.codex/auth.json`. */
export function defaultCodexAuthPath(env: NodeJS.ProcessEnv, home: string): string {
  const codexHome = env.CODEX_HOME?.trim();
  return path.join(codexHome ? codexHome : path.join(home, '.codex'), 'auth.json');
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Parses the file's text into a credential (auth method `import`). */
export function credentialFromCodexAuth(text: string, file: string, now: number): Credential {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new LoginError(`${file} is not valid JSON; it does not look like a Codex CLI auth.json.`);
  }
  const j = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  const tokens = (j.tokens && typeof j.tokens === 'object' ? j.tokens : null) as Record<string, unknown> | null;
  if (!tokens) {
    const hint = j.OPENAI_API_KEY || j.auth_mode === 'apikey' ? ' It holds an API key, not a ChatGPT sign-in.' : '';
    throw new LoginError(`${file} has no ChatGPT tokens.${hint} Sign the Codex CLI in with ChatGPT first (codex login), or use cliproxy login.`);
  }
  const idToken = str(tokens.id_token);
  const accessToken = str(tokens.access_token);
  const refreshToken = str(tokens.refresh_token);
  const missing = [idToken ? null : 'id_token', accessToken ? null : 'access_token', refreshToken ? null : 'refresh_token'].filter(Boolean);
  if (missing.length > 0) throw new LoginError(`${file} lacks ${missing.join(', ')}; sign the Codex CLI in again, or use cliproxy login.`);
  const lastRefresh = str(j.last_refresh) ? Date.parse(j.last_refresh as string) : NaN;
  let cred: Credential;
  try {
    const set = { idToken: idToken!, accessToken: accessToken!, refreshToken: refreshToken!, tokenType: 'Bearer' };
    cred = credentialFromTokens(set, 'import', now, undefined, str(tokens.account_id));
  } catch (err) {
    throw new LoginError(`${file}: ${(err as Error).message}`);
  }
  return { ...cred, lastRefresh: Number.isFinite(lastRefresh) ? lastRefresh : null };
}

export async function readCodexAuth(file: string, now: number): Promise<Credential> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LoginError(`${file} not found. Sign the Codex CLI in first (codex login), or give the path: cliproxy login --from-codex <path>.`);
    throw new LoginError(`Cannot read ${file}: ${code ?? (err as Error).message}`);
  }
  return credentialFromCodexAuth(text, file, now);
}
