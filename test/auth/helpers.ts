import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Credential } from '../../src/accounts/credential.js';

/** An unsigned JWT with the Codex claims (clients never check signatures). */
export function fakeJwt(claims: { email?: string; accountId?: string; plan?: string; exp?: number; profileEmail?: string }): string {
  const payload: Record<string, unknown> = {
    ...(claims.email ? { email: claims.email } : {}),
    ...(claims.profileEmail ? { 'https://api.openai.com/profile': { email: claims.profileEmail } } : {}),
    'https://api.openai.com/auth': {
      ...(claims.accountId ? { chatgpt_account_id: claims.accountId } : {}),
      ...(claims.plan ? { chatgpt_plan_type: claims.plan } : {}),
      chatgpt_user_id: 'user-1',
    },
    ...(claims.exp ? { exp: claims.exp } : {}),
  };
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(payload)}.sig`;
}

export function makeCredential(over: Partial<Credential> = {}): Credential {
  const accountId = over.accountId ?? 'acc-1111';
  const email = over.email ?? 'alice@example.com';
  return {
    accountId,
    email,
    planType: 'plus',
    idToken: fakeJwt({ email, accountId, plan: 'plus' }),
    accessToken: fakeJwt({ accountId, exp: Date.UTC(2030, 0, 1) / 1000 }),
    refreshToken: 'rt_' + 'x'.repeat(30),
    tokenType: 'Bearer',
    expiresAt: Date.UTC(2030, 0, 1),
    lastRefresh: Date.UTC(2026, 0, 1),
    authMethod: 'oauth',
    pkce: { method: 'S256', challenge: 'c'.repeat(43) },
    disabled: false,
    ...over,
  };
}

export interface Captured {
  stream: PassThrough & { isTTY?: boolean };
  text(): string;
  /** Resolves when the captured text matches. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export function capture(): Captured {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  let buf = '';
  const waiters: Array<() => void> = [];
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  return {
    stream,
    text: () => buf,
    waitFor(re, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${buf}`)), timeoutMs);
        const check = () => {
          const m = buf.match(re);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

/** A tiny HTTP server whose handler the test supplies. */
export async function tinyServer(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
