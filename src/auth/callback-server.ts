import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoginError } from './login-error.js';
import { interpretCallback, type CallbackOutcome } from './paste-redirect.js';

/**
 * The local OAuth callback server (protocol.md §1): 127.0.0.1 only, `/auth/callback` and
 * `/success`; every other path is 404. A wrong `state` gets a 400 page and the server keeps
 * waiting; every other callback is handed to `handle`, whose reply decides the page.
 */
export type CallbackReply = { kind: 'success' } | { kind: 'failure'; message: string };

export interface CallbackServerOptions {
  port: number;
  expectedState: string;
  /** Called for callbacks with the right state (code, error or missing code). */
  handle(outcome: Exclude<CallbackOutcome, { kind: 'state-mismatch' }>): Promise<CallbackReply>;
  /** Called once the browser has loaded the success page. */
  onSuccessPageServed?(): void;
}

export interface CallbackServer {
  port: number;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

function page(title: string, body: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head>` +
    `<body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>${esc(title)}</h1><p>${esc(body)}</p></body></html>`;
}

function send(res: ServerResponse, status: number, title: string, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'close' });
  res.end(page(title, body));
}

export async function startCallbackServer(opts: CallbackServerOptions): Promise<CallbackServer> {
  /** Set once a callback was handled successfully: /success is shown only then. */
  let signedIn = false;
  const server = createServer((req, res) => {
    void route(req, res);
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://localhost`);
    if (req.method !== 'GET' || (url.pathname !== '/auth/callback' && url.pathname !== '/success')) {
      send(res, 404, 'Not found', 'This is the cliproxy sign-in callback server.');
      return;
    }
    if (url.pathname === '/success') {
      // only after a sign-in completed here: a page that claims success before one is a lie (and a phishing aid)
      if (!signedIn) {
        send(res, 404, 'No sign-in yet', 'No sign-in has completed on this callback server. Finish the sign-in in the browser, or check the terminal.');
        return;
      }
      send(res, 200, 'Signed in', 'Codex authentication successful. You can close this window and return to the terminal.');
      opts.onSuccessPageServed?.();
      return;
    }
    const outcome = interpretCallback(url.searchParams, opts.expectedState);
    if (outcome.kind === 'state-mismatch') {
      send(res, 400, 'Sign-in state mismatch', 'This callback does not belong to the sign-in started in the terminal (state mismatch). Use the URL printed by the latest login attempt.');
      return;
    }
    let reply: CallbackReply;
    try {
      reply = await opts.handle(outcome);
    } catch (err) {
      reply = { kind: 'failure', message: err instanceof Error ? err.message : String(err) };
    }
    if (reply.kind === 'success') {
      signedIn = true;
      res.writeHead(302, { Location: '/success', 'Cache-Control': 'no-store', Connection: 'close' });
      res.end();
    } else {
      send(res, 400, 'Sign-in failed', `${reply.message} Return to the terminal for details.`);
    }
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(new LoginError(`Port ${opts.port} is already in use. Run again with -oauth-callback-port <free port> (or --oauth-callback-port).`));
      } else if (err.code === 'EACCES') {
        reject(new LoginError(`Cannot listen on port ${opts.port} (permission denied). Run again with -oauth-callback-port <port above 1024>.`));
      } else {
        reject(new LoginError(`Cannot start the callback server on ${HOST}:${opts.port}: ${err.code ?? err.message}`));
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port: opts.port, host: HOST, exclusive: true });
  });

  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | null = null;
  return {
    port,
    close() {
      // stop accepting, drop idle keep-alive sockets, let a response in flight (the error
      // page of a failed exchange) finish, and cut whatever is left after a second
      closed ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), 1000);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}
