/**
 * Faults injected on demand (per account or for any account), consumed in the order added.
 * A request takes at most one "outcome" fault (status, disconnect, response_failed) and,
 * independently, at most one slow fault.
 */
import type { SandboxFault } from './types.js';

interface Armed {
  fault: SandboxFault;
  /** Remaining uses (`times`, default 1). */
  remaining: number;
  /** The account the fault is bound to (account id or email, as given), or undefined for any. */
  account: string | undefined;
}

export interface TakenFaults {
  outcome?: Exclude<SandboxFault, { kind: 'slow' }>;
  slow?: Extract<SandboxFault, { kind: 'slow' }>;
}

export class FaultQueue {
  private armed: Armed[] = [];

  add(fault: SandboxFault): void {
    const times = fault.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new Error(`fault.times must be a positive integer (got ${String(fault.times)})`);
    this.armed.push({ fault, remaining: times, account: fault.account?.trim().toLowerCase() });
  }

  /** Takes (and uses up) the faults that apply to one request of this account. */
  take(who: { accountId: string; email: string }): TakenFaults {
    const refs = [who.accountId.toLowerCase(), who.email.toLowerCase()];
    const out: TakenFaults = {};
    for (const a of this.armed) {
      if (a.remaining <= 0) continue;
      if (a.account !== undefined && !refs.includes(a.account)) continue;
      if (a.fault.kind === 'slow') {
        if (out.slow) continue;
        out.slow = a.fault;
      } else {
        if (out.outcome) continue;
        out.outcome = a.fault;
      }
      a.remaining -= 1;
    }
    this.armed = this.armed.filter((a) => a.remaining > 0);
    return out;
  }
}
