/**
 * Everything one sandbox instance knows: accounts, tokens, device codes, quotas, faults,
 * stats and settings. Route modules receive it; nothing here is global.
 */
import type { Clock } from '../util/clock.js';
import { AccountRegistry, type SandboxAccount } from './accounts.js';
import { DeviceAuthorizations } from './device.js';
import { FaultQueue } from './faults.js';
import { JwtMinter } from './jwt.js';
import { SANDBOX_MODELS } from './model-replies.js';
import { QuotaBook } from './quota.js';
import { RequestLog } from './request-log.js';
import { StatsBook } from './stats.js';
import { TokenStore } from './tokens.js';

export const CODEX_CLIENT_ID = 'app_EMoamEEZ73f0CkXaXp7hrann';

export interface CoreSettings {
  issuer: string;
  clientId: string;
  clock: Clock;
  autoApprove: boolean;
  accessTokenTtlSeconds: number;
  deviceIntervalSeconds: number;
  deviceCodeTtlSeconds: number;
  /** Plan type → model slugs; plans not named get SANDBOX_MODELS. */
  modelsByPlan?: Record<string, string[]>;
}

/** A browser authorization request that passed validation and waits for Approve/Deny. */
export interface PendingAuthorization {
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
  expiresAt: number;
}

export class SandboxCore {
  readonly issuer: string;
  readonly clientId: string;
  readonly clock: Clock;
  autoApprove: boolean;
  readonly deviceIntervalSeconds: number;
  readonly accounts = new AccountRegistry();
  readonly tokens: TokenStore;
  readonly devices: DeviceAuthorizations;
  readonly quotas: QuotaBook;
  readonly stats = new StatsBook();
  readonly requestLog = new RequestLog();
  readonly faults = new FaultQueue();
  readonly pendingAuthorizations = new Map<string, PendingAuthorization>();
  /** prompt_cache_key → input tokens of the last request, per account (for cached_tokens). */
  readonly promptCache = new Map<string, number>();
  /** Refresh grants wait this long before they are processed; one whose client hangs up meanwhile rotates nothing. */
  refreshDelayMs = 0;
  /** Refresh grants waiting out refreshDelayMs now. */
  pendingRefreshes = 0;
  private seq = 0;
  private readonly modelsByPlan: Record<string, string[]>;

  constructor(s: CoreSettings) {
    this.issuer = s.issuer;
    this.clientId = s.clientId;
    this.clock = s.clock;
    this.autoApprove = s.autoApprove;
    this.deviceIntervalSeconds = s.deviceIntervalSeconds;
    this.tokens = new TokenStore(s.clock, new JwtMinter(s.issuer, s.clientId), s.accessTokenTtlSeconds);
    this.devices = new DeviceAuthorizations(s.clock, s.deviceCodeTtlSeconds * 1000);
    this.quotas = new QuotaBook(s.clock);
    this.modelsByPlan = { ...s.modelsByPlan };
  }

  /** The model slugs an account of this plan may list and use. */
  modelsFor(plan: string): readonly string[] {
    return Object.hasOwn(this.modelsByPlan, plan) ? this.modelsByPlan[plan]! : SANDBOX_MODELS;
  }

  /** Deterministic, increasing ids for responses and output items. */
  nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}_${String(this.seq).padStart(6, '0')}`;
  }

  /** Resolves an account reference (account id or email) or throws a helpful error. */
  requireAccount(ref: string): SandboxAccount {
    const account = this.accounts.find(ref);
    if (!account) throw new Error(`sandbox: no account "${ref}" (sign in or mintAccount first)`);
    return account;
  }

  get deviceCallbackUri(): string {
    return `${this.issuer}/deviceauth/callback`;
  }
}
