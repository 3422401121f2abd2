/**
 * Config hot reload. The config file is watched (its directory, so an editor's rename-into-place
 * is seen too) with a debounce; a change is loaded with the same precedence as at start
 * (flags > env > file), and the keys that can change live are applied (see config/live.ts).
 * An invalid file keeps the running config and logs each key path with its reason; changed
 * keys that need a restart are logged as such. PUT /v0/management/config goes through the same
 * path after writing the file atomically.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { ConfigError, parseConfigDocument, type ConfigIssue } from '../config/load.js';
import { diffConfig, withLiveKeys, type LiveKey } from '../config/live.js';
import type { Config, ConfigFile } from '../config/schema.js';
import type { Clock } from '../util/clock.js';
import { fileKeyName } from '../config/live.js';
import { isLoopbackHost } from './host-policy.js';

/** How the server re-reads its config: the command's own loader (same flags and env as at start). */
export interface ConfigSource {
  load(fileContent?: ConfigFile): Config;
}

export type ReloadOutcome =
  | { ok: true; applied: string[]; restartRequired: string[] }
  | { ok: false; reason: string; issues: ConfigIssue[] };

export interface ReloadLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ConfigReloaderOptions {
  source: ConfigSource;
  running: Config;
  /** Applies a new running config; `changed` are the live keys that differ. */
  apply(next: Config, changed: LiveKey[]): void;
  log: ReloadLogger;
  clock: Clock;
  debounceMs?: number;
}

export const DEFAULT_RELOAD_DEBOUNCE_MS = 300;

export class ConfigReloader {
  private running: Config;
  private watcher: FSWatcher | null = null;
  private cancelDebounce: (() => void) | null = null;
  /** The config file, when the server was started from one. */
  readonly file: string | null;

  constructor(private readonly opts: ConfigReloaderOptions) {
    this.running = opts.running;
    this.file = opts.running.source === 'defaults' ? null : opts.running.source;
  }

  current(): Config {
    return this.running;
  }

  /** Starts watching the config file (no-op without one). */
  watch(): void {
    if (!this.file || this.watcher) return;
    const name = path.basename(this.file);
    try {
      this.watcher = watch(path.dirname(this.file), (_event, changed) => {
        if (changed !== null && changed !== name) return;
        this.cancelDebounce?.();
        this.cancelDebounce = this.opts.clock.schedule(this.opts.debounceMs ?? DEFAULT_RELOAD_DEBOUNCE_MS, () => {
          this.cancelDebounce = null;
          this.reload();
        });
      });
      this.watcher.on('error', (err) => this.opts.log.warn({ file: this.file, reason: err.message }, 'stopped watching the config file'));
    } catch (err) {
      this.opts.log.warn({ file: this.file, reason: (err as Error).message }, 'cannot watch the config file; edits need a restart');
    }
  }

  close(): void {
    this.cancelDebounce?.();
    this.cancelDebounce = null;
    this.watcher?.close();
    this.watcher = null;
  }

  /** Re-reads the config file and applies what changed (what the watcher calls). */
  reload(fileContent?: ConfigFile): ReloadOutcome {
    let next: Config;
    try {
      next = this.opts.source.load(fileContent);
    } catch (err) {
      const issues = err instanceof ConfigError ? err.issues : [];
      const reason = (err as Error).message;
      this.opts.log.error(
        { file: this.file, issues: issues.length ? issues : undefined, reason: issues.length ? undefined : reason },
        `config change rejected, the running config stays: ${issues.length ? issues.map((i) => `${i.key}: ${i.reason}`).join('; ') : reason}`,
      );
      return { ok: false, reason, issues };
    }
    if (next.apiKeys.length === 0 && !isLoopbackHost(this.running.host)) {
      const issues = [{ key: 'api-keys', reason: `cannot remove every key while the server listens on ${this.running.host}` }];
      this.opts.log.error({ file: this.file, issues }, `config change rejected, the running config stays: api-keys: ${issues[0]!.reason}`);
      return { ok: false, reason: `api-keys: ${issues[0]!.reason}`, issues };
    }
    const diff = diffConfig(this.running, next);
    if (diff.restart.length > 0) {
      this.opts.log.warn({ file: this.file, keys: diff.restart }, `config change needs a restart to take effect: ${diff.restart.join(', ')}`);
    }
    const applied = diff.live.map((k) => fileKeyName(k));
    if (diff.live.length > 0) {
      this.running = withLiveKeys(this.running, next);
      this.opts.apply(this.running, diff.live);
      this.opts.log.info({ file: this.file, keys: applied }, `config reloaded: ${applied.join(', ')} applied`);
    }
    return { ok: true, applied, restartRequired: diff.restart };
  }

  /**
   * PUT /v0/management/config: `document` (the config file's content, as JSON) is checked
   * against the schema and with the environment, written atomically (same mode), then applied
   * like an edit. Throws ConfigError (with the key paths) when invalid: nothing is written.
   */
  async replaceFile(document: unknown): Promise<ReloadOutcome> {
    if (!this.file) throw new ConfigError('The server was started without a config file: start it with --config FILE to change its config here.');
    const content = parseConfigDocument(document, this.file);
    // the whole config must resolve (env overrides included) before anything is written
    const next = this.opts.source.load(content);
    if (next.apiKeys.length === 0 && !isLoopbackHost(this.running.host)) {
      throw new ConfigError(`api-keys: cannot remove every key while the server listens on ${this.running.host}`, [
        { key: 'api-keys', reason: `cannot remove every key while the server listens on ${this.running.host}` },
      ]);
    }
    const mode = await stat(this.file).then(
      (s) => s.mode & 0o777,
      () => 0o600,
    );
    // yaml is loaded when a config is written (the management API), not at start-up
    const { stringify } = await import('yaml');
    await writeFileAtomic(this.file, stringify(content, { lineWidth: 0 }), { mode });
    this.cancelDebounce?.();
    return this.reload(content);
  }
}
