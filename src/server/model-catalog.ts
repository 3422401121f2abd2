/**
 * The models the backend offers to our accounts, fetched live from `{base-url}/models` through
 * the pool (so an account is picked like for any request), cached for `models-cache-seconds`
 * with the injected clock, plus the `model-aliases` from config.
 */
import { NotFoundError } from '../errors.js';
import type { BackendModel, UpstreamClient } from '../upstream/types.js';
import type { Clock } from '../util/clock.js';
import type { AccountPool } from '../accounts/pool.js';

export interface OpenAIModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface ModelCatalogOptions {
  pool: Pick<AccountPool, 'withAccount'>;
  upstream: Pick<UpstreamClient, 'models'>;
  clock: Clock;
  cacheSeconds: number;
  aliases: Record<string, string>;
  log?: { debug(obj: object, msg?: string): void };
}

interface CacheEntry {
  models: BackendModel[];
  fetchedAt: number;
}

export class ModelCatalog {
  private cache: CacheEntry | undefined;
  private inflight: Promise<CacheEntry> | undefined;

  constructor(private readonly opts: ModelCatalogOptions) {}

  /** The backend's model objects (its own format, for Codex clients), from cache when fresh. */
  async backendModels(signal?: AbortSignal): Promise<BackendModel[]> {
    return (await this.entry(signal)).models;
  }

  /** OpenAI list entries: the backend's models, then each alias whose target is known (or unknown list). */
  async list(signal?: AbortSignal): Promise<OpenAIModel[]> {
    const entry = await this.entry(signal);
    const created = Math.floor(entry.fetchedAt / 1000);
    const ids = new Set(entry.models.map((m) => m.slug));
    const out: OpenAIModel[] = [...ids].map((id) => ({ id, object: 'model', created, owned_by: 'openai' }));
    for (const [alias, target] of Object.entries(this.opts.aliases)) {
      if (!ids.has(alias) && ids.has(target)) out.push({ id: alias, object: 'model', created, owned_by: 'openai' });
    }
    return out;
  }

  /**
   * The backend model a requested name stands for (aliases applied). Throws NotFoundError
   * `model_not_found` listing what is available when the backend's list does not have it. When
   * the list cannot be fetched (no account usable right now), the name passes unchecked and
   * the backend decides.
   */
  async resolve(requested: string, signal?: AbortSignal): Promise<string> {
    const model = this.opts.aliases[requested] ?? requested;
    let models: BackendModel[];
    try {
      models = await this.backendModels(signal);
    } catch (err) {
      this.opts.log?.debug({ err: (err as Error).message }, 'model list unavailable; not checking the model name');
      return model;
    }
    if (models.some((m) => m.slug === model)) return model;
    throw modelNotFound(requested, (await this.list(signal)).map((m) => m.id));
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

  private async fetch(signal?: AbortSignal): Promise<CacheEntry> {
    const models = await this.opts.pool.withAccount({ signal }, ({ account }) => this.opts.upstream.models(account.auth, { signal }));
    const entry = { models, fetchedAt: this.opts.clock.now() };
    this.cache = entry;
    return entry;
  }
}

export function modelNotFound(requested: string, available: readonly string[]): NotFoundError {
  const list = available.length ? available.join(', ') : '(none)';
  return new NotFoundError(`The model '${requested}' does not exist or is not available to these accounts. Available models: ${list}.`, {
    param: 'model',
    code: 'model_not_found',
  });
}
