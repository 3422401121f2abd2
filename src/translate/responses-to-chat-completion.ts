import { apiErrorFromFailure } from '../upstream/api-error.js';
import { isTerminalEvent } from '../upstream/events.js';
import { UpstreamFailure } from '../upstream/types.js';
import type { ResponsesEvent } from '../upstream/types.js';
import { chatChunksForEvent, createChatStreamState, emptyChatUsage, finishChatStream } from './responses-to-chat.js';
import type { ChatCompletionChunk, ChatFinishReason, ChatUsage } from './responses-to-chat.js';

/**
 * Non-streaming chat.completions: the whole event list → one chat.completion object.
 * It folds the streaming translator's chunks, so both paths agree on every mapping.
 */

export type ChatToolCall =
  | { id: string; type: 'function'; function: { name: string; arguments: string } }
  | { id: string; type: 'custom'; custom: { name: string; input: string } };

export interface ChatCompletionMessage {
  role: 'assistant';
  /** null only when the answer is tool calls (or a refusal) without text, as OpenAI does. */
  content: string | null;
  refusal: string | null;
  reasoning_content?: string;
  tool_calls?: ChatToolCall[];
  /** Legacy function calling: the one call, when the request used `functions`. */
  function_call?: { name: string; arguments: string };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: number; message: ChatCompletionMessage; logprobs: null; finish_reason: ChatFinishReason }[];
  usage: ChatUsage;
}

/**
 * Throws an ApiError when the events end in response.failed / error (400 for failures the
 * client's input caused, e.g. invalid_image or context_length_exceeded, else 502) or without
 * any terminal event (502 "stream closed before response.completed"). Messages are scrubbed.
 */
export function chatCompletionFromEvents(
  events: readonly ResponsesEvent[],
  init: { id: string; model: string; created: number; legacyFunctions?: boolean },
): ChatCompletion {
  // The usage comes from state.usage; no usage chunk is needed.
  const state = createChatStreamState({ ...init, includeUsage: false });
  const chunks: ChatCompletionChunk[] = [];
  let terminated = false;
  try {
    for (const event of events) {
      if (isTerminalEvent(event)) terminated = true;
      chunks.push(...chatChunksForEvent(state, event));
      if (terminated) break;
    }
  } catch (err) {
    if (err instanceof UpstreamFailure) throw apiErrorFromFailure(err);
    throw err;
  }
  if (!terminated) {
    throw apiErrorFromFailure(new UpstreamFailure('stream_closed', 'stream closed before response.completed', { code: 'stream_closed' }));
  }
  chunks.push(...finishChatStream(state));
  return foldChunks(chunks, { id: init.id, model: init.model, created: init.created }, state.usage);
}

function foldChunks(chunks: readonly ChatCompletionChunk[], init: { id: string; model: string; created: number }, usage: ChatUsage | null): ChatCompletion {
  let content = '';
  let reasoning = '';
  let refusal = '';
  let finish: ChatFinishReason = 'stop';
  const calls: ChatToolCall[] = [];
  let functionCall: { name: string; arguments: string } | undefined;
  for (const c of chunks) {
    for (const choice of c.choices) {
      const d = choice.delta;
      if (d.content) content += d.content;
      if (d.reasoning_content) reasoning += d.reasoning_content;
      if (d.refusal) refusal += d.refusal;
      for (const tc of d.tool_calls ?? []) {
        if ('custom' in tc) {
          const call = (calls[tc.index] ??= { id: '', type: 'custom', custom: { name: '', input: '' } });
          if (call.type !== 'custom') continue;
          if (tc.id) call.id = tc.id;
          if (tc.custom.name) call.custom.name = tc.custom.name;
          call.custom.input += tc.custom.input;
        } else {
          const call = (calls[tc.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
          if (call.type !== 'function') continue;
          if (tc.id) call.id = tc.id;
          if (tc.function.name) call.function.name = tc.function.name;
          call.function.arguments += tc.function.arguments;
        }
      }
      if (d.function_call) {
        functionCall ??= { name: '', arguments: '' };
        if (d.function_call.name) functionCall.name = d.function_call.name;
        functionCall.arguments += d.function_call.arguments;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  const message: ChatCompletionMessage = {
    role: 'assistant',
    content: content === '' && (calls.length > 0 || functionCall !== undefined || refusal !== '') ? null : content,
    refusal: refusal === '' ? null : refusal,
  };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (calls.length > 0) message.tool_calls = calls;
  if (functionCall) message.function_call = functionCall;
  return {
    id: init.id,
    object: 'chat.completion',
    created: init.created,
    model: init.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
    usage: usage ?? emptyChatUsage(),
  };
}
