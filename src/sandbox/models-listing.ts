/**
 * GET /backend-api/codex/models: the model list in the shape the Codex CLI parses
 * (ModelsResponse { models: ModelInfo[] }) of the slugs the account's plan gets.
 */

const DISPLAY_NAMES: Record<string, string> = {
  'gpt-5': 'GPT-5',
  'gpt-5-codex': 'GPT-5 Codex',
  'gpt-5.1': 'GPT-5.1',
  'gpt-5.1-codex': 'GPT-5.1 Codex',
  'gpt-5.1-codex-mini': 'GPT-5.1 Codex Mini',
  'codex-mini-latest': 'Codex Mini (latest)',
};

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
