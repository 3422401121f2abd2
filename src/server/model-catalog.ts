/**
 * The models the backend offers to our accounts: the union of the live `{base-url}/models`
 * lists of the accounts' plans (fetched once per distinct plan, through the pool with an
 * account of that plan, so retries and cooldowns apply as for any request), cached for
 * `models-cache-seconds` with the injected clock, plus the `model-aliases` from config.
 */
import { NotFoundError } from '../errors.js';
import type { BackendModel, UpstreamClient } from '../upstream/types.js';
import type { Clock } from '../util/clock.js';
import { scrubText } from '../util/redact.js';
import type { AccountPool } from '../accounts/pool.js';

export interface OpenAIModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface ModelCatalogOptions {
  pool: Pick<AccountPool, 'withAccount' | 'plans'>;
  upstream: Pick<UpstreamClient, 'models'>;
  clock: Clock;
  cacheSeconds: number;
  aliases: Record<string, string>;
  log?: { debug(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

interface CacheEntry {
  models: BackendModel[];
  fetchedAt: number;
  /** The backend's slugs, for resolve(). */
  slugs: ReadonlySet<string>;
  /** The OpenAI list (built once per fetch, not per request). */
  list: readonly OpenAIModel[];
}

export class ModelCatalog {
  private cache: CacheEntry | undefined;
  private inflight: Promise<CacheEntry> | undefined;
  /** The last list each plan answered (a plan that fails a later fetch keeps contributing it). */
  private readonly byPlan = new Map<string, BackendModel[]>();

  constructor(private readonly opts: ModelCatalogOptions) {}

  /** The backend's model objects (its own format, for Codex clients), from cache when fresh. */
  async backendModels(signal?: AbortSignal): Promise<BackendModel[]> {
    return (await this.entry(signal)).models;
  }

  /** OpenAI list entries: the backend's models, then each alias whose target is known (or unknown list). */
  async list(signal?: AbortSignal): Promise<readonly OpenAIModel[]> {
    return (await this.entry(signal)).list;
  }

  /**
   * The backend model a requested name stands for (aliases applied). Throws NotFoundError
   * `model_not_found` listing what is available when the backend's list does not have it. When
   * the list cannot be fetched (no account usable right now), the name passes unchecked and
   * the backend decides.
   */
  async resolve(requested: string, signal?: AbortSignal): Promise<string> {
    const model = this.opts.aliases[requested] ?? requested;
    let entry: CacheEntry;
    try {
      entry = await this.entry(signal);
    } catch (err) {
      this.opts.log?.debug({ err: (err as Error).message }, 'model list unavailable; not checking the model name');
      return model;
    }
    if (entry.slugs.has(model)) return model;
    throw modelNotFound(requested, entry.list.map((m) => m.id));
  }

  private async entry(signal?: AbortSignal): Promise<CacheEntry> {
    const now = this.opts.clock.now();
    if (this.cache && now - this.cache.fetchedAt < this.opts.cacheSeconds * 1000) return this.cache;
    if (!this.inflight) {
      this.inflight = this.fetch(signal).finally(() => {
        this.inflight = undefined;
      });
    }
    try {
      return await this.inflight;
    } catch (err) {
      if (this.cache) return this.cache; // stale beats nothing
      throw err;
    }
  }

  /**
   * One /models request per plan, in parallel. A plan that fails is logged and keeps its last
   * list (if any); the fetch fails only when no plan answered (the first plan's error).
   */
  private async fetch(signal?: AbortSignal): Promise<CacheEntry> {
    const plans = this.opts.pool.plans();
    if (plans.length === 0) {
      // no usable account: let the pool say why (503 naming `cliproxy login`, …)
      const models = await this.fetchWhere(undefined, signal);
      return this.store([models]);
    }
    const results = await Promise.allSettled(plans.map((plan) => this.fetchWhere(plan, signal)));
    const lists: BackendModel[][] = [];
    let firstError: unknown;
    let answered = 0;
    results.forEach((r, i) => {
      const plan = plans[i]!;
      if (r.status === 'fulfilled') {
        answered++;
        this.byPlan.set(plan, r.value);
        lists.push(r.value);
        return;
      }
      firstError ??= r.reason;
      const stale = this.byPlan.get(plan);
      if (stale) lists.push(stale);
      this.opts.log?.warn(
        { plan, err: scrubText(r.reason instanceof Error ? r.reason.message : String(r.reason)), keptPrevious: stale !== undefined },
        `could not fetch the model list for plan "${plan}"`,
      );
    });
    if (answered === 0) throw firstError instanceof Error ? firstError : new Error(String(firstError));
    return this.store(lists);
  }

  private fetchWhere(plan: string | undefined, signal?: AbortSignal): Promise<BackendModel[]> {
    const where = plan === undefined ? undefined : (a: { planType: string }) => a.planType === plan;
    return this.opts.pool.withAccount({ signal, where }, ({ account }) => this.opts.upstream.models(account.auth, { signal }));
  }

  private store(lists: BackendModel[][]): CacheEntry {
    const models = unionBySlug(lists);
    const fetchedAt = this.opts.clock.now();
    const slugs = new Set(models.map((m) => m.slug));
    const entry = { models, fetchedAt, slugs, list: openAIList(slugs, this.opts.aliases, Math.floor(fetchedAt / 1000)) };
    this.cache = entry;
    return entry;
  }
}

/** OpenAI list entries: the backend's models, then each alias whose target is among them. */
function openAIList(slugs: ReadonlySet<string>, aliases: Record<string, string>, created: number): OpenAIModel[] {
  const out: OpenAIModel[] = [...slugs].map((id) => ({ id, object: 'model', created, owned_by: 'openai' }));
  for (const [alias, target] of Object.entries(aliases)) {
    if (!slugs.has(alias) && slugs.has(target)) out.push({ id: alias, object: 'model', created, owned_by: 'openai' });
  }
  return out;
}

/** The models of every list, each slug once (first occurrence wins), in order of first appearance. */
export function unionBySlug(lists: readonly (readonly BackendModel[])[]): BackendModel[] {
  const seen = new Set<string>();
  const out: BackendModel[] = [];
  for (const list of lists) {
    for (const m of list) {
      if (seen.has(m.slug)) continue;
      seen.add(m.slug);
      out.push(m);
    }
  }
  return out;
}

export function modelNotFound(requested: string, available: readonly string[]): NotFoundError {
  const list = available.length ? available.join(', ') : '(none)';
  return new NotFoundError(`The model '${requested}' does not exist or is not available to these accounts. Available models: ${list}.`, {
    param: 'model',
    code: 'model_not_found',
  });
}
