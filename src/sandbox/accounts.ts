/**
 * Sandbox accounts. Each approval signs in as a distinct identity unless one was queued; an
 * email always maps to the same account (same account id) within a sandbox.
 */
import { createHash } from 'node:crypto';
import type { SandboxAccountSpec } from './types.js';

export interface SandboxAccount {
  accountId: string;
  userId: string;
  email: string;
  plan: string;
}

export const PLANS = ['free', 'go', 'plus', 'pro', 'team', 'business', 'enterprise', 'edu'] as const;
const DEFAULT_PLAN = 'plus';

/** A stable UUID-shaped id derived from a seed, so the same email gets the same id across sandboxes. */
function stableUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class AccountRegistry {
  private readonly byId = new Map<string, SandboxAccount>();
  private readonly byEmail = new Map<string, SandboxAccount>();
  private readonly queued: SandboxAccountSpec[] = [];
  private freshCounter = 0;

  queue(spec: SandboxAccountSpec): void {
    this.queued.push({ ...spec });
  }

  /** The identity the next approval will use (without consuming it): the queued one, else a fresh one. */
  peekNextIdentity(): { email: string; plan: string } {
    const q = this.queued[0];
    if (q) {
      const email = q.email ?? (q.accountId ? this.byId.get(q.accountId)?.email : undefined) ?? this.freshEmail(false);
      return { email, plan: q.plan ?? this.byEmail.get(email.toLowerCase())?.plan ?? DEFAULT_PLAN };
    }
    return { email: this.freshEmail(false), plan: DEFAULT_PLAN };
  }

  /**
   * Resolves the identity of an approval. `chosen` holds what a person typed on a page (which
   * wins); otherwise the queued spec is consumed; otherwise a fresh identity is made.
   */
  approve(chosen?: SandboxAccountSpec): SandboxAccount {
    const queued = this.queued.shift();
    const spec: SandboxAccountSpec = { ...queued, ...stripUndefined(chosen ?? {}) };
    return this.ensure(spec);
  }

  /** Finds or creates the account for a spec (email and/or accountId); a given plan updates it. */
  ensure(spec: SandboxAccountSpec = {}): SandboxAccount {
    const email = spec.email?.trim().toLowerCase();
    const existing = (spec.accountId ? this.byId.get(spec.accountId) : undefined) ?? (email ? this.byEmail.get(email) : undefined);
    if (existing) {
      if (spec.plan) existing.plan = spec.plan;
      return existing;
    }
    const finalEmail = email ?? this.freshEmail(true);
    const accountId = spec.accountId ?? stableUuid(`account:${finalEmail}`);
    const account: SandboxAccount = {
      accountId,
      userId: `user-${stableUuid(`user:${finalEmail}`).replace(/-/g, '').slice(0, 24)}`,
      email: finalEmail,
      plan: spec.plan ?? DEFAULT_PLAN,
    };
    this.byId.set(accountId, account);
    this.byEmail.set(finalEmail, account);
    return account;
  }

  get(accountId: string): SandboxAccount | undefined {
    return this.byId.get(accountId);
  }

  /** Looks an account up by account id or email. */
  find(ref: string): SandboxAccount | undefined {
    return this.byId.get(ref) ?? this.byEmail.get(ref.trim().toLowerCase());
  }

  private freshEmail(consume: boolean): string {
    let n = this.freshCounter;
    let email: string;
    do {
      n += 1;
      email = `user${n}@sandbox.test`;
    } while (this.byEmail.has(email));
    if (consume) this.freshCounter = n;
    return email;
  }
}

function stripUndefined(spec: SandboxAccountSpec): SandboxAccountSpec {
  const out: SandboxAccountSpec = {};
  if (spec.email) out.email = spec.email;
  if (spec.plan) out.plan = spec.plan;
  if (spec.accountId) out.accountId = spec.accountId;
  return out;
}
