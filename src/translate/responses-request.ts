import { InvalidRequestError } from '../errors.js';

/**
 * The fixes a /v1/responses (or /backend-api/codex/responses) body needs before the Codex
 * backend accepts it (protocol.md §4). Everything else is forwarded untouched.
 */

/** Parameters the backend rejects (400 {"detail":…}) or that mean nothing without storage. */
const DROPPED_RESPONSES_PARAMETERS = [
  'temperature',
  'top_p',
  'max_output_tokens',
  'max_tokens',
  'max_completion_tokens',
  'max_tool_calls',
  'top_logprobs',
  'truncation',
  'metadata',
  'user',
  'safety_identifier',
  'prompt_cache_retention',
  'background',
  'stream_options',
  'context_management',
  'prompt_cache_breakpoint',
] as const;

/** The one service tier the Codex backend takes (Codex's fast mode); other values are dropped. */
const KEPT_SERVICE_TIERS: ReadonlySet<unknown> = new Set(['priority']);

/** Explicit cache markers the Codex backend refuses ("prompt_cache_breakpoint is not supported on this model"). */
const BREAKPOINT = 'prompt_cache_breakpoint';

/** Parameters that need server-side storage (the backend runs with store:false). */
const STATEFUL_PARAMETERS = ['previous_response_id', 'conversation'] as const;

const DROPPABLE: ReadonlySet<string> = new Set(DROPPED_RESPONSES_PARAMETERS);
const STATEFUL: ReadonlySet<string> = new Set(STATEFUL_PARAMETERS);

export interface FixedResponsesRequest {
  body: Record<string, unknown>;
  /** Names of parameters that were present and removed (log them at debug). */
  dropped: string[];
  /** What the client asked for: only `stream: true` streams; the upstream always streams. */
  clientWantsStream: boolean;
}

export function fixResponsesRequest(input: Record<string, unknown>): FixedResponsesRequest {
  for (const key of STATEFUL_PARAMETERS) {
    if (input[key] !== undefined && input[key] !== null) {
      throw new InvalidRequestError(
        `'${key}' is not supported: the Codex backend does not store responses (store:false), so send the whole conversation in 'input'.`,
        { param: key, code: 'unsupported_parameter' },
      );
    }
  }
  if (typeof input['model'] !== 'string' || input['model'] === '') {
    throw new InvalidRequestError("Missing required parameter: 'model'.", { param: 'model', code: 'missing_required_parameter' });
  }
  const clientWantsStream = input['stream'] === true;
  const body: Record<string, unknown> = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (DROPPABLE.has(key)) {
      if (value !== undefined && value !== null) dropped.push(key);
      continue;
    }
    if (STATEFUL.has(key)) continue; // null here (a value was rejected above)
    if (key === 'service_tier' && !KEPT_SERVICE_TIERS.has(value)) {
      if (value !== undefined && value !== null) dropped.push(key);
      continue;
    }
    body[key] = value;
  }
  // `user` used to be the cache hint; keep its meaning when no prompt_cache_key is given.
  if (typeof input['user'] === 'string' && input['user'] !== '' && body['prompt_cache_key'] === undefined) {
    body['prompt_cache_key'] = input['user'];
  }

  const inputValue = body['input'];
  if (typeof inputValue === 'string') {
    body['input'] = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: inputValue }] }];
  } else if (inputValue === undefined || inputValue === null) {
    body['input'] = [];
  } else if (!Array.isArray(inputValue)) {
    throw new InvalidRequestError("Invalid type for 'input': expected a string or an array of input items.", {
      param: 'input',
      code: 'invalid_type',
    });
  } else {
    body['input'] = normalizeInput(inputValue, dropped);
  }

  if (input['store'] === true) dropped.push('store');
  dropped.splice(0, dropped.length, ...new Set(dropped));
  body['store'] = false;
  body['stream'] = true;
  return { body, dropped: dropped.sort(), clientWantsStream };
}

type Item = Record<string, unknown>;
const isItem = (v: unknown): v is Item => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Input items the backend would refuse, fixed (copy on write: untouched items are the client's
 * own objects): a `system` message becomes `developer` (the backend takes no system role), and
 * `prompt_cache_breakpoint` markers are removed from items and from their content / output parts.
 */
function normalizeInput(items: readonly unknown[], dropped: string[]): unknown[] {
  let out: unknown[] | undefined;
  items.forEach((raw, i) => {
    if (!isItem(raw)) return;
    let item: Item | undefined;
    const own = (): Item => (item ??= { ...raw });
    const isMessage = raw['type'] === 'message' || (raw['type'] === undefined && typeof raw['role'] === 'string');
    if (isMessage && raw['role'] === 'system') own()['role'] = 'developer';
    if (BREAKPOINT in raw) {
      delete own()[BREAKPOINT];
      dropped.push(BREAKPOINT);
    }
    for (const field of ['content', 'output'] as const) {
      const parts = raw[field];
      if (!Array.isArray(parts) || !parts.some((p) => isItem(p) && BREAKPOINT in p)) continue;
      own()[field] = parts.map((p: unknown) => {
        if (!isItem(p) || !(BREAKPOINT in p)) return p;
        const { [BREAKPOINT]: _marker, ...rest } = p;
        return rest;
      });
      dropped.push(BREAKPOINT);
    }
    if (item) (out ??= [...items])[i] = item;
  });
  return out ?? (items as unknown[]);
}
