import { UpstreamFailure, type UpstreamAuth, type UsageSnapshot } from '../upstream/types.js';
import type { AccountEntry } from './account-state.js';
import { isClientFault } from './cooldowns.js';

/**
 * One request's use of one account, from the moment the pool handed it out to its outcome.
 * The pool creates it (AccountPool.open) once the upstream call was started and read far
 * enough to know it works; whoever serves the client then settles it exactly once:
 *
 *   commit()        the first byte went to the client: no more retries on another account
 *                   (the session affinity is refreshed);
 *   finish(result)  the answer ended properly: a success, with its tokens and usage headers;
 *   fail(failure)   it broke after commit: a failure; an UpstreamFailure also cools the account
 *                   down (our own bugs do not);
 *   abandon()       the client went away (or the server is shutting down): neither.
 *
 * Counters are exact: the pool counts one request per client request and account when it
 * hands the account out; the outcome is counted here, once. Calls after the first settle are
 * ignored, so a cleanup path may settle defensively.
 */

export interface PoolAccount {
  accountId: string;
  email: string;
  planType: string;
  auth: UpstreamAuth;
}

/** What a finished attempt reports to its account. */
export interface AttemptResult {
  inputTokens?: number;
  outputTokens?: number;
  /** The x-codex-* usage headers of the response. */
  usage?: UsageSnapshot;
}

/** The pool's side of an attempt (cooldowns and affinity live there). */
export interface AttemptHost {
  coolDownFor(entry: AccountEntry, failure: UpstreamFailure): void;
  bindAffinity(affinityKey: string, accountId: string): void;
}

export type AttemptState = 'open' | 'committed' | 'finished' | 'failed' | 'abandoned';

export class Attempt<T> {
  private st: AttemptState = 'open';

  constructor(
    private readonly host: AttemptHost,
    private readonly entry: AccountEntry,
    /** The account serving this request (its auth goes to the upstream call). */
    readonly account: PoolAccount,
    /** 1-based attempt number within this request (retries and the 401 re-try count). */
    readonly number: number,
    /** What the opener returned: the upstream stream and whatever was read of it. */
    readonly upstream: T,
    private readonly opts: { counted: boolean; affinityKey: string | undefined },
  ) {}

  get state(): AttemptState {
    return this.st;
  }

  /** True once finish/fail/abandon was called. */
  get settled(): boolean {
    return this.st !== 'open' && this.st !== 'committed';
  }

  /** The first byte is on its way to the client: from now on a failure cannot be retried elsewhere. */
  commit(): void {
    if (this.st !== 'open') return;
    this.st = 'committed';
    if (this.opts.affinityKey) this.host.bindAffinity(this.opts.affinityKey, this.entry.accountId);
  }

  finish(result: AttemptResult = {}): void {
    if (this.settled) return;
    this.commit();
    this.st = 'finished';
    this.entry.recordUsage(result.usage);
    if (!this.opts.counted) return;
    this.entry.recordSuccess();
    this.entry.recordTokens(result.inputTokens, result.outputTokens);
  }

  fail(failure: unknown, result: AttemptResult = {}): void {
    if (this.settled) return;
    this.st = 'failed';
    this.entry.recordUsage(result.usage);
    // the request's own fault (a response.failed about the input …): not the account's failure
    if (isClientFault(failure)) {
      if (this.opts.counted) this.entry.recordTokens(result.inputTokens, result.outputTokens);
      return;
    }
    if (this.opts.counted) {
      this.entry.recordFailure();
      this.entry.recordTokens(result.inputTokens, result.outputTokens);
    }
    if (failure instanceof UpstreamFailure) {
      this.entry.recordUsage(failure.usage);
      this.host.coolDownFor(this.entry, failure);
    }
  }

  abandon(): void {
    if (this.settled) return;
    this.st = 'abandoned';
  }
}
