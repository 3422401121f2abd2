/**
 * The models the backend offers to our accounts: the union of the live `{base-url}/models`
 * lists of the accounts' plans (fetched once per distinct plan, through the pool with an
 * account of that plan, so retries and cooldowns apply as for any request), cached for
 * `models-cache-seconds` with the injected clock, plus the `model-aliases` from config.
 */
import { reasoningEfforts } from '../config/schema.js';
import { NotFoundError } from '../errors.js';
import { UpstreamFailure, type BackendModel, type UpstreamClient } from '../upstream/types.js';
import type { Clock } from '../util/clock.js';
import { boundEchoedText, quoteInput } from '../util/quote.js';
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
  /** Efforts listed as `<model>-<effort>` in the OpenAI list (`model-effort-suffixes`). */
  effortSuffixes?: readonly string[];
  /** Only for the warning when the list comes back empty. */
  clientVersion?: string;
  log?: { debug(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

/** What a requested model name stands for: the backend model, and the effort its suffix asked for. */
export interface ResolvedModel {
  model: string;
  /** From a suffix: `gpt-5-high`, `gpt-5(high)`, `gpt-5:high` → `high`. */
  effort?: ReasoningEffort;
}

type ReasoningEffort = (typeof reasoningEfforts)[number];

const EFFORT = `(${reasoningEfforts.join('|')})`;
const SUFFIX_FORMS = [new RegExp(`^(.+)\\(${EFFORT}\\)$`), new RegExp(`^(.+):${EFFORT}$`), new RegExp(`^(.+)-${EFFORT}$`)];

/** `gpt-5-high` / `gpt-5(high)` / `gpt-5:high` → { base: 'gpt-5', effort: 'high' }; other names → undefined. */
export function splitEffortSuffix(name: string): { base: string; effort: ReasoningEffort } | undefined {
  for (const form of SUFFIX_FORMS) {
    const m = form.exec(name);
    if (m?.[1] && m[2]) return { base: m[1], effort: m[2] as ReasoningEffort };
  }
  return undefined;
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

  private aliases: Record<string, string>;

  constructor(private readonly opts: ModelCatalogOptions) {
    this.aliases = opts.aliases;
  }

  /** New `model-aliases` (config reload): used from the next request on, the cached list included. */
  setAliases(aliases: Record<string, string>): void {
    this.aliases = aliases;
    if (this.cache) this.cache = { ...this.cache, list: openAIList(this.cache.slugs, aliases, this.opts.effortSuffixes ?? [], Math.floor(this.cache.fetchedAt / 1000)) };
  }

  /** The backend's model objects (its own format, for Codex clients), from cache when fresh. */
  async backendModels(signal?: AbortSignal): Promise<BackendModel[]> {
    return (await this.entry(signal)).models;
  }

  /** OpenAI list entries: the backend's models, then each alias whose target is known (or unknown list). */
  async list(signal?: AbortSignal): Promise<readonly OpenAIModel[]> {
    return (await this.entry(signal)).list;
  }

  /**
   * The backend model a requested name stands for: aliases applied, then an effort suffix split
   * off (`gpt-5-high` → `gpt-5` + effort `high`) unless the backend lists the full name. The list
   * never refuses a name: a model it lacks (a list that is empty, failed to load, or predates a
   * brand-new model) is forwarded as asked, and the backend's own refusal reaches the client as
   * 404 `model_not_found` (upstream/api-error.ts).
   */
  async resolve(requested: string, signal?: AbortSignal): Promise<ResolvedModel> {
    const model = this.aliases[requested] ?? requested;
    let slugs: ReadonlySet<string> | undefined;
    try {
      slugs = (await this.entry(signal)).slugs;
    } catch (err) {
      this.opts.log?.debug({ err: scrubText((err as Error).message) }, 'model list unavailable; forwarding the model name unchecked');
    }
    if (slugs?.has(model)) return { model };
    const split = splitEffortSuffix(model);
    if (!split) return { model };
    return { model: this.aliases[split.base] ?? split.base, effort: split.effort };
  }

  /**
   * The backend's refusal of a model (400 "The 'x' model is not supported …", classified as
   * code model_not_found) → 404 `model_not_found` with the backend's sentence, plus the models
   * the cached list offers when there is one. Any other error is returned unchanged.
   */
  explainRefusal(err: unknown): unknown {
    if (!(err instanceof UpstreamFailure) || err.code !== 'model_not_found') return err;
    const available = this.cache?.list.map((m) => m.id) ?? [];
    const hint = available.length > 0 ? ` Available models: ${available.join(', ')}.` : '';
    return new NotFoundError(`${boundEchoedText(scrubText(err.message))}${hint}`, { param: 'model', code: 'model_not_found', cause: err });
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
    return this.opts.pool.withAccount({ signal, where, counted: false }, ({ account }) => this.opts.upstream.models(account.auth, { signal }));
  }

  private store(lists: BackendModel[][]): CacheEntry {
    const models = unionBySlug(lists);
    const fetchedAt = this.opts.clock.now();
    const slugs = new Set(models.map((m) => m.slug));
    if (models.length === 0) {
      this.opts.log?.warn(
        { clientVersion: this.opts.clientVersion },
        'the Codex backend listed no models: requests are still forwarded, but the backend may hide models from an old codex.client-version (raise it to the current Codex CLI version)',
      );
    }
    const list = openAIList(slugs, this.aliases, this.opts.effortSuffixes ?? [], Math.floor(fetchedAt / 1000));
    const entry = { models, fetchedAt, slugs, list };
    this.cache = entry;
    return entry;
  }
}

/** OpenAI list entries: the backend's models, each alias whose target is among them, then `<model>-<effort>` for the configured efforts. */
function openAIList(slugs: ReadonlySet<string>, aliases: Record<string, string>, efforts: readonly string[], created: number): OpenAIModel[] {
  const ids = [...slugs];
  for (const [alias, target] of Object.entries(aliases)) {
    if (!slugs.has(alias) && slugs.has(splitEffortSuffix(target)?.base ?? target)) ids.push(alias);
  }
  for (const effort of efforts) {
    for (const slug of slugs) ids.push(`${slug}-${effort}`);
  }
  return [...new Set(ids)].map((id) => ({ id, object: 'model', created, owned_by: 'openai' }));
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
  return new NotFoundError(`The model ${quoteInput(requested)} does not exist or is not available to these accounts. Available models: ${list}.`, {
    param: 'model',
    code: 'model_not_found',
  });
}
