/**
 * Anthropic model names → the Codex model (and reasoning effort) that serves them, from config
 * `claude-models`. Pure: the handler resolves the result through the model catalog (aliases)
 * like any other model name.
 *
 * Lookup order: an exact key (`claude-opus-4-1-20250805`), then the family named in the model
 * name (`opus`, `sonnet`, `haiku`), then — for any other `claude-*` name — the `sonnet` entry.
 * A name that is not a Claude model (e.g. `gpt-5-codex`) is not mapped and goes upstream as is.
 */

import type { reasoningEfforts } from '../config/schema.js';

export type ReasoningEffort = (typeof reasoningEfforts)[number];

export interface ClaudeModelTarget {
  model: string;
  /** The default reasoning effort for this name; `thinking` / `output_config.effort` in a request override it. */
  effort?: ReasoningEffort;
  /**
   * Set on the built-in defaults (not on configured entries): when the accounts' plans do not
   * offer `model`, the handler uses the first model of the live list instead of failing.
   */
  builtIn?: true;
}

export const CLAUDE_FAMILIES = ['opus', 'sonnet', 'haiku'] as const;

/** Used for every family the config does not name (documented in the README). */
export const DEFAULT_CLAUDE_MODELS: Readonly<Record<(typeof CLAUDE_FAMILIES)[number], ClaudeModelTarget>> = {
  opus: { model: 'gpt-5.1-codex', effort: 'high', builtIn: true },
  sonnet: { model: 'gpt-5.1-codex', effort: 'medium', builtIn: true },
  haiku: { model: 'gpt-5.1-codex-mini', effort: 'low', builtIn: true },
};

export function claudeModelTarget(name: string, configured: Readonly<Record<string, ClaudeModelTarget>>): ClaudeModelTarget | undefined {
  const exact = configured[name] ?? configured[name.toLowerCase()];
  if (exact) return exact;
  const lower = name.toLowerCase();
  const family = CLAUDE_FAMILIES.find((f) => lower.includes(f));
  if (family) return configured[family] ?? DEFAULT_CLAUDE_MODELS[family];
  if (lower.startsWith('claude')) return configured['sonnet'] ?? DEFAULT_CLAUDE_MODELS.sonnet;
  return undefined;
}

/** The Anthropic model names listed on `GET /v1/models` (Anthropic shape): the configured exact names, then the families (`opus`, …), which are valid model names too. */
export function listedClaudeModels(configured: Readonly<Record<string, ClaudeModelTarget>>): string[] {
  const families: readonly string[] = CLAUDE_FAMILIES;
  return [...Object.keys(configured).filter((k) => !families.includes(k)), ...CLAUDE_FAMILIES];
}
