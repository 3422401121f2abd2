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
  'service_tier',
  'truncation',
  'metadata',
  'user',
  'safety_identifier',
  'prompt_cache_retention',
  'background',
] as const;

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
  }

  if (input['store'] === true) dropped.push('store');
  body['store'] = false;
  body['stream'] = true;
  return { body, dropped: dropped.sort(), clientWantsStream };
}
