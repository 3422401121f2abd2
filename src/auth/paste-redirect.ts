/**
 * The final redirected URL a person pastes into the terminal when the browser cannot reach
 * the callback server (SSH, containers). Parsed and validated exactly like a callback.
 */
export type CallbackOutcome =
  | { kind: 'code'; code: string }
  | { kind: 'error'; error: string; description: string | undefined }
  | { kind: 'missing-code' }
  | { kind: 'state-mismatch' };

/** Interprets the query of an /auth/callback request (or a pasted URL). */
export function interpretCallback(params: URLSearchParams, expectedState: string): CallbackOutcome {
  const state = params.get('state');
  if (state !== expectedState) return { kind: 'state-mismatch' };
  const error = params.get('error');
  if (error) return { kind: 'error', error, description: params.get('error_description') ?? undefined };
  const code = params.get('code');
  if (!code) return { kind: 'missing-code' };
  return { kind: 'code', code };
}

/**
 * Parses one pasted line. Returns null when the line is not a URL with a query (so the caller
 * can tell the person what it expects); otherwise the outcome for that URL's parameters.
 * Accepts a full URL, or just the `?code=…&state=…` part.
 */
export function parsePastedRedirect(line: string, expectedState: string): CallbackOutcome | null {
  const text = line.trim().replace(/^["'<]+|[">']+$/g, '');
  if (!text) return null;
  let params: URLSearchParams;
  try {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
      params = new URL(text).searchParams;
    } else if (text.startsWith('?') || /(^|&)(code|state|error)=/.test(text)) {
      params = new URLSearchParams(text.startsWith('?') ? text.slice(1) : text);
    } else {
      return null;
    }
  } catch {
    return null;
  }
  if (!params.has('state') && !params.has('code') && !params.has('error')) return null;
  return interpretCallback(params, expectedState);
}
