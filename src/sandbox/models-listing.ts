/**
 * GET /backend-api/codex/models: the model list in the shape the Codex CLI parses
 * (ModelsResponse { models: ModelInfo[] }) of the slugs the account's plan gets, gated by
 * `client_version` as the real backend does: the parameter is required, and a model whose
 * `minimal_client_version` is newer than the caller's version is not listed (`0.0.0` lists all).
 */
import { SANDBOX_MODEL_MINIMAL_VERSIONS } from './model-replies.js';

const DISPLAY_NAMES: Record<string, string> = {
  'gpt-5': 'GPT-5',
  'gpt-5-codex': 'GPT-5 Codex',
  'gpt-5.1': 'GPT-5.1',
  'gpt-5.1-codex': 'GPT-5.1 Codex',
  'gpt-5.1-codex-mini': 'GPT-5.1 Codex Mini',
  'codex-mini-latest': 'Codex Mini (latest)',
  'gpt-6': 'GPT-6',
  'gpt-6-astra': 'GPT-6 Astra',
  'gpt-6-codex': 'GPT-6 Codex',
  'gpt-6.1-sol': 'GPT-6.1 Sol',
};

/** A slug the sandbox has no minimal version for (a custom `modelsByPlan` entry) is listed to everyone. */
export function minimalClientVersion(slug: string): string {
  return SANDBOX_MODEL_MINIMAL_VERSIONS[slug] ?? '0.0.0';
}

/** X.Y.Z → [X, Y, Z]; anything else → undefined. */
function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** a < b, comparing X.Y.Z numerically; an unparsable version is older than any other. */
function olderThan(a: string, b: string): boolean {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pb) return false;
  if (!pa) return true;
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! < pb[i]!;
  return false;
}

/** The slugs a client of `clientVersion` gets to see: `0.0.0` is the ungated sentinel. */
export function visibleTo(clientVersion: string, slugs: readonly string[]): string[] {
  if (clientVersion.trim() === '0.0.0') return [...slugs];
  return slugs.filter((slug) => !olderThan(clientVersion, minimalClientVersion(slug)));
}

const EFFORTS = [
  { effort: 'low', description: 'Fast responses with lighter reasoning' },
  { effort: 'medium', description: 'Balances speed and reasoning depth' },
  { effort: 'high', description: 'Maximizes reasoning depth for complex problems' },
];

const SANDBOX_BASE_INSTRUCTIONS =
  'You are Codex, a coding agent, answering from the cliproxy sandbox (a deterministic local emulator).';

/** The listing of `slugs` (an account's plan's models). */
export function modelsListing(slugs: readonly string[]): { models: Record<string, unknown>[] } {
  return {
    models: slugs.map((slug, i) => ({
      slug,
      display_name: DISPLAY_NAMES[slug] ?? slug,
      description: `${DISPLAY_NAMES[slug] ?? slug} (cliproxy sandbox)`,
      default_reasoning_level: 'medium',
      supported_reasoning_levels: EFFORTS,
      shell_type: 'shell_command',
      visibility: 'list',
      supported_in_api: true,
      priority: i + 1,
      minimal_client_version: minimalClientVersion(slug),
      upgrade: null,
      base_instructions: SANDBOX_BASE_INSTRUCTIONS,
      supports_reasoning_summaries: true,
      support_verbosity: slug.startsWith('gpt-5'),
      default_verbosity: slug.startsWith('gpt-5') ? 'medium' : null,
      apply_patch_tool_type: 'freeform',
      truncation_policy: { mode: 'bytes', limit: 10000 },
      supports_parallel_tool_calls: true,
      context_window: 272000,
      effective_context_window_percent: 95,
      experimental_supported_tools: [],
      input_modalities: ['text', 'image'],
    })),
  };
}
