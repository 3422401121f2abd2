import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Credential, TokenSet } from '../../src/accounts/credential.js';
import type { Logger } from '../../src/accounts/logger.js';
import { TokenEndpointError } from '../../src/auth/token-errors.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { Clock } from '../../src/util/clock.js';

/** Test helpers for the pool units: unsigned JWTs, credentials, a fake issuer, a capturing logger. */

export function fakeJwt(payload: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(payload)}.c2ln`;
}

export function accessTokenFor(accountId: string, expiresAtMs: number, serial: number): string {
  return fakeJwt({
    exp: Math.floor(expiresAtMs / 1000),
    serial,
    'https://api.openai.com/auth': { chatgpt_account_id: accountId, chatgpt_plan_type: 'plus' },
  });
}

export function makeCredential(init: Partial<Credential> & { accountId: string; now: number }): Credential {
  const expiresAt = init.expiresAt === undefined ? init.now + 3600_000 : init.expiresAt;
  return {
    accountId: init.accountId,
    email: init.email ?? `${init.accountId}@example.com`,
    planType: init.planType ?? 'plus',
    idToken: init.idToken ?? fakeJwt({ email: init.email ?? `${init.accountId}@example.com` }),
    accessToken: init.accessToken ?? accessTokenFor(init.accountId, expiresAt ?? init.now + 3600_000, 0),
    refreshToken: init.refreshToken ?? `rt-${init.accountId}-0`,
    tokenType: 'Bearer',
    expiresAt,
    lastRefresh: init.lastRefresh === undefined ? init.now : init.lastRefresh,
    authMethod: init.authMethod ?? 'oauth',
    disabled: init.disabled ?? false,
    ...(init.needsLogin ? { needsLogin: init.needsLogin } : {}),
  };
}

export function testConfig(overrides: { requestRetry?: number; routing?: Partial<Config['routing']>; cooldown?: Partial<Config['cooldown']>; refresh?: Partial<Config['refresh']> } = {}): Config {
  const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-pool-cfg-'));
  const base = loadConfig({ env: {}, cwd: dir, home: dir });
  return {
    ...base,
    requestRetry: overrides.requestRetry ?? base.requestRetry,
    routing: { ...base.routing, ...overrides.routing },
    cooldown: { ...base.cooldown, ...overrides.cooldown },
    refresh: { ...base.refresh, ...overrides.refresh },
  };
}

type Outcome = 'ok' | { permanent: string } | { transient: number };

/**
 * A fake /oauth/token: rotates refresh tokens (single use: a second use of the same token is
 * `refresh_token_reused`), mints access tokens valid for an hour by the given clock, and can
 * be told to fail or to hold its answers until released.
 */
export class FakeTokens {
  readonly calls: string[] = [];
  private readonly used = new Set<string>();
  private serial = 0;
  private next: Outcome[] = [];
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;

  /** `lifetimeMs`: how long minted access tokens live (default an hour). */
  constructor(
    private readonly clock: Clock,
    private readonly lifetimeMs = 3600_000,
  ) {}

  /** Queues outcomes for the next calls (after that: ok). */
  willFail(...outcomes: Outcome[]): void {
    this.next.push(...outcomes);
  }

  hold(): void {
    this.gate = new Promise<void>((r) => (this.openGate = r));
  }

  release(): void {
    this.openGate?.();
    this.gate = null;
  }

  async refresh(refreshToken: string): Promise<TokenSet> {
    this.calls.push(refreshToken);
    if (this.gate) await this.gate;
    const outcome = this.next.shift() ?? 'ok';
    if (outcome !== 'ok' && 'permanent' in outcome) {
      throw new TokenEndpointError('refresh failed', { status: 401, code: outcome.permanent, permanent: true });
    }
    if (outcome !== 'ok' && 'transient' in outcome) {
      throw new TokenEndpointError('issuer unavailable', { status: outcome.transient, permanent: false });
    }
    if (this.used.has(refreshToken)) {
      throw new TokenEndpointError('refresh token reused', { status: 401, code: 'refresh_token_reused', permanent: true });
    }
    this.used.add(refreshToken);
    const accountId = refreshToken.split('-')[1] ?? 'x';
    const n = ++this.serial;
    return {
      idToken: fakeJwt({ email: `${accountId}@example.com`, n }),
      accessToken: accessTokenFor(accountId, this.clock.now() + this.lifetimeMs, n),
      refreshToken: `rt-${accountId}-${n}`,
      tokenType: 'Bearer',
      expiresIn: Math.round(this.lifetimeMs / 1000),
    };
  }
}

export interface CapturedLine {
  level: string;
  obj: unknown;
  msg: string;
}

export function captureLogger(): Logger & { lines: CapturedLine[]; text(): string } {
  const lines: CapturedLine[] = [];
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      if (typeof obj === 'string') lines.push({ level, obj: undefined, msg: obj });
      else lines.push({ level, obj, msg: msg ?? '' });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => lines.map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.obj ?? {})}`).join('\n'),
  };
}

/** Waits until `cond` holds, letting I/O and timers run (real time; for store watch notifications). */
export async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
