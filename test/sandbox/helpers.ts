import { createHash, randomBytes } from 'node:crypto';
import { CODEX_CLIENT_ID } from '../../src/sandbox/index.js';

export const CLIENT_ID = CODEX_CLIENT_ID;
export const REDIRECT_URI = 'http://localhost:1455/auth/callback';

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(64).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function decodeJwt(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

export async function postForm(url: string, params: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
    redirect: 'manual',
  });
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), redirect: 'manual' });
}

export function authorizeUrl(issuer: string, p: Partial<Record<string, string>> & { challenge: string }): string {
  const q = new URLSearchParams({
    response_type: p.response_type ?? 'code',
    client_id: p.client_id ?? CLIENT_ID,
    redirect_uri: p.redirect_uri ?? REDIRECT_URI,
    scope: 'openid profile email offline_access',
    code_challenge: p.challenge,
    code_challenge_method: p.code_challenge_method ?? 'S256',
    id_token_add_organizations: 'true',
    codex_cli_simplified_flow: 'true',
    state: p.state ?? 'state-123',
    originator: 'codex_cli_rs',
  });
  return `${issuer}/oauth/authorize?${q.toString()}`;
}

export interface SseEvent {
  event: string;
  data: Record<string, unknown> & { type: string; sequence_number: number };
}

/** Parses a complete SSE body into events. */
export function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue;
    let event = '';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    out.push({ event, data: JSON.parse(data) as SseEvent['data'] });
  }
  return out;
}

export interface Creds {
  accessToken: string;
  accountId: string;
}

export function backendHeaders(c: Creds): Record<string, string> {
  return { authorization: `Bearer ${c.accessToken}`, 'chatgpt-account-id': c.accountId, accept: 'text/event-stream' };
}

export function userMessage(text: string, extra: Record<string, unknown>[] = []): Record<string, unknown> {
  return { type: 'message', role: 'user', content: [{ type: 'input_text', text }, ...extra] };
}

export function responsesBody(input: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'gpt-5-codex', input, store: false, stream: true, ...extra };
}

export async function callResponses(baseUrl: string, c: Creds, body: unknown): Promise<{ res: Response; events: SseEvent[]; text: string }> {
  const res = await postJson(`${baseUrl}/responses`, body, backendHeaders(c));
  const text = await res.text();
  const events = res.headers.get('content-type')?.startsWith('text/event-stream') ? parseSse(text) : [];
  return { res, events, text };
}

/** Concatenated output_text deltas. */
export function streamedText(events: SseEvent[]): string {
  return events
    .filter((e) => e.data.type === 'response.output_text.delta')
    .map((e) => String(e.data.delta))
    .join('');
}
