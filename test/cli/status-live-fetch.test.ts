import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccountStatus } from '../../src/accounts/account-state.js';
import { fetchLiveStatus, reachableHost, serverBaseUrl } from '../../src/cli/status-live.js';
import { hashManagementKey } from '../../src/server/management/key.js';
import { liveCells, mergeLiveRows, type StatusRow } from '../../src/cli/status.js';

let closeMe: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeMe?.();
  closeMe = undefined;
});

async function listen(srv: Server | TcpServer): Promise<number> {
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return (srv.address() as { port: number }).port;
}

function status(over: Partial<AccountStatus>): AccountStatus {
  return {
    accountId: 'acc-1',
    email: 'a@example.com',
    planType: 'plus',
    location: '/auth/codex-a.json',
    authMethod: 'oauth',
    state: 'ready',
    disabled: false,
    needsLogin: null,
    expiresAt: Date.UTC(2026, 5, 1, 12),
    lastRefresh: Date.UTC(2026, 5, 1, 11),
    cooldownUntil: null,
    cooldownReason: null,
    requests: 0,
    successes: 0,
    failures: 0,
    inputTokens: 0,
    outputTokens: 0,
    lastUsed: null,
    usage: null,
    ...over,
  };
}

describe('where the live status is asked', () => {
  it('maps wildcard bind addresses to loopback and brackets IPv6', () => {
    expect(reachableHost('0.0.0.0')).toBe('127.0.0.1');
    expect(reachableHost('::')).toBe('127.0.0.1');
    expect(reachableHost('[::]')).toBe('127.0.0.1');
    expect(reachableHost('localhost')).toBe('localhost');
    expect(serverBaseUrl({ host: '::1', port: 8317 })).toBe('http://[::1]:8317');
    expect(serverBaseUrl({ host: '0.0.0.0', port: 8080 })).toBe('http://127.0.0.1:8080');
  });
});

describe('fetchLiveStatus', () => {
  it('gives up on a server that accepts but never answers (timeout) and reports it absent', async () => {
    const sockets: Socket[] = [];
    const tcp = createTcpServer((s) => void sockets.push(s));
    const port = await listen(tcp);
    closeMe = () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        tcp.close(() => resolve());
      });
    expect(await fetchLiveStatus({ host: '127.0.0.1', port, management: { secretKey: null, keyFrom: null, allowRemote: false } }, { timeoutMs: 100 })).toEqual({ kind: 'absent', url: `http://127.0.0.1:${port}` });
  });

  it('sends the plain management key (never a hash) and rejects answers that are not an account list', async () => {
    const seen: (string | undefined)[] = [];
    let body = '{"accounts":[]}';
    const http = createHttpServer((req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader('content-type', 'application/json');
      res.end(body);
    });
    const port = await listen(http);
    closeMe = () => new Promise<void>((resolve) => http.close(() => resolve()));
    const config = { host: '127.0.0.1', port, management: { secretKey: 'plain-mgmt-key-01', keyFrom: 'env' as const, allowRemote: false } };
    expect(await fetchLiveStatus(config)).toEqual({ kind: 'live', url: `http://127.0.0.1:${port}`, accounts: [] });
    expect(seen).toEqual(['Bearer plain-mgmt-key-01']);
    const hashed = { ...config, management: { ...config.management, secretKey: await hashManagementKey('plain-mgmt-key-01'), keyFrom: 'file' as const } };
    await fetchLiveStatus(hashed);
    expect(seen).toEqual(['Bearer plain-mgmt-key-01', undefined]);
    body = '{"hello":"world"}';
    expect(await fetchLiveStatus(config)).toMatchObject({ kind: 'unusable', reason: 'its answer is not a cliproxy account list' });
    expect(await fetchLiveStatus({ ...config, port: 0 })).toMatchObject({ kind: 'absent' });
  });
});

describe('merging the live view with the files', () => {
  const NOW = Date.UTC(2026, 5, 1, 12);
  const fileRow = (over: Partial<StatusRow>): StatusRow => ({
    email: 'a@example.com',
    plan: 'plus',
    accountId: 'acc-1',
    file: '/auth/codex-a.json',
    expiresAt: null,
    state: 'ready',
    detail: null,
    lastRefresh: null,
    ...over,
  });

  it('takes the server\'s rows, adds corrupt files and accounts the server does not know, and formats the LIVE cells', () => {
    const live = [
      status({
        state: 'cooling',
        cooldownUntil: NOW + 90_000,
        cooldownReason: 'usage_limit',
        requests: 5,
        successes: 4,
        failures: 1,
        inputTokens: 120,
        outputTokens: 30,
        lastUsed: NOW - 3 * 60_000,
        usage: { primary: { usedPercent: 42.4, resetAt: NOW + 3600_000 }, secondary: { usedPercent: 10 } },
      }),
    ];
    const files = [
      fileRow({}),
      fileRow({ email: 'new@example.com', accountId: 'acc-new', file: '/auth/codex-new.json' }),
      fileRow({ email: null, plan: null, accountId: null, file: '/auth/codex-bad.json', state: 'corrupt', detail: 'not valid JSON' }),
    ];
    const rows = mergeLiveRows(files, live, NOW);
    expect(rows.map((r) => [r.email, r.state, r.detail])).toEqual([
      ['a@example.com', 'cooling', 'usage_limit until 2026-06-01T12:01:30Z'],
      ['new@example.com', 'ready', null],
      [null, 'corrupt', 'not valid JSON'],
    ]);
    expect(rows[0]!.stats).toEqual({
      requests: 5,
      successes: 4,
      failures: 1,
      inputTokens: 120,
      outputTokens: 30,
      lastUsed: '2026-06-01T11:57:00.000Z',
      cooldownUntil: '2026-06-01T12:01:30.000Z',
      cooldownReason: 'usage_limit',
      usedPercent: 42,
    });
    expect(rows[1]!.stats).toBeUndefined();
    expect(liveCells(rows[0]!.stats!, NOW)).toEqual({ req: 5, ok: 4, fail: 1, tok: '120/30', used: '42%', last: '3m ago' });
    expect(liveCells({ ...rows[0]!.stats!, lastUsed: null, usedPercent: null }, NOW)).toEqual({ req: 5, ok: 4, fail: 1, tok: '120/30', last: 'never' });
  });
});
