/**
 * Codex backend endpoints under /backend-api/codex: POST /responses (SSE), GET /models; and
 * GET /backend-api/wham/usage. Every authenticated response carries the x-codex-* usage headers.
 */
import type { ServerResponse } from 'node:http';
import type { SandboxAccount } from './accounts.js';
import type { SandboxCore } from './core.js';
import { bearerToken, headerValue, HttpError, readBodyText, sendAuthError, sendJson, type Request } from './http.js';
import { isIssuedReasoning, planReply } from './model-replies.js';
import { usageHeaders } from './quota.js';
import { completedEvents, computeUsage, failedEvents, type ResponseIdentity } from './response-events.js';
import { streamEvents } from './sse-writer.js';
import { modelsListing, visibleTo } from './models-listing.js';

/** Events sent before a disconnect fault drops the socket, unless the fault says otherwise. */
const DEFAULT_DISCONNECT_AFTER_EVENTS = 5;
const DEFAULT_FAULT_RESET_SECONDS = 60;
const UNSUPPORTED_PARAMETERS = ['temperature', 'top_p', 'max_output_tokens', 'max_tokens', 'stream_options', 'context_management', 'prompt_cache_breakpoint'];

/** What /responses refuses a request with: a `{"detail": …}` sentence, or a whole error body. */
type Problem = string | { error: { message: string; type: string } };

/** GPT-5.6+ explicit cache markers: the Codex backend refuses them wherever they appear. */
const BREAKPOINT_REFUSAL: Problem = { error: { message: 'prompt_cache_breakpoint is not supported on this model', type: 'invalid_request_error' } };

function hasBreakpoint(item: Record<string, unknown>): boolean {
  if ('prompt_cache_breakpoint' in item) return true;
  return [item.content, item.output].some((parts) => Array.isArray(parts) && parts.some((p) => p && typeof p === 'object' && 'prompt_cache_breakpoint' in p));
}

/** Output items and the call items they answer. */
const OUTPUT_OF: Readonly<Record<string, string>> = { function_call_output: 'function_call', custom_tool_call_output: 'custom_tool_call' };

/**
 * What the backend refuses inside `input`: a `system` message (the Codex backend takes the system
 * prompt as `instructions` or a `developer` message), and a tool output whose call is not earlier
 * in the input ("No tool call found for function call output with call_id …").
 */
function validateInput(input: unknown[]): Problem | undefined {
  const calls = new Set<string>();
  for (const raw of input) {
    if (!raw || typeof raw !== 'object') continue;
    const item = raw as Record<string, unknown>;
    if (hasBreakpoint(item)) return BREAKPOINT_REFUSAL;
    const type = typeof item.type === 'string' ? item.type : 'message';
    if (type === 'message' && item.role === 'system') return "Invalid value: 'system'. Supported values are: 'user', 'assistant' and 'developer'.";
    if (type === 'function_call' || type === 'custom_tool_call') calls.add(`${type}:${String(item.call_id)}`);
    const answers = OUTPUT_OF[type];
    if (answers && !calls.has(`${answers}:${String(item.call_id)}`)) {
      return `No tool call found for ${type === 'function_call_output' ? 'function' : 'custom tool'} call output with call_id ${String(item.call_id)}.`;
    }
  }
  return undefined;
}

/** Checks the bearer token and ChatGPT-Account-ID; answers the error itself and returns undefined when they fail. */
function authenticate(core: SandboxCore, req: Request, res: ServerResponse): SandboxAccount | undefined {
  const token = bearerToken(req);
  if (!token) {
    sendAuthError(res, 'invalid_token', 'Missing bearer token: send "Authorization: Bearer <access_token>".');
    return undefined;
  }
  const check = core.tokens.checkAccess(token);
  if (!check.ok) {
    sendAuthError(res, check.code === 'token_expired' ? 'token_expired' : 'invalid_token', check.message);
    return undefined;
  }
  const account = core.accounts.get(check.accountId);
  if (!account) {
    sendAuthError(res, 'invalid_token', 'The account of this access token no longer exists.');
    return undefined;
  }
  const header = headerValue(req, 'chatgpt-account-id');
  if (header !== account.accountId) {
    const message = header
      ? 'The ChatGPT-Account-ID header does not match the account of the access token.'
      : 'Missing ChatGPT-Account-ID header.';
    sendJson(res, 403, { error: { message, type: 'invalid_request_error', param: null, code: 'account_mismatch' } });
    return undefined;
  }
  return account;
}

function detail(res: ServerResponse, message: string, headers: Record<string, string>): void {
  sendJson(res, 400, { detail: message }, headers);
}

function validate(body: Record<string, unknown>, models: readonly string[]): Problem | undefined {
  for (const p of UNSUPPORTED_PARAMETERS) {
    if (p in body) return `Unsupported parameter: ${p}`;
  }
  if (body.store !== false && body.store !== undefined) return 'Store must be set to false';
  if (body.stream !== true) return 'Stream must be set to true';
  const model = typeof body.model === 'string' ? body.model : '';
  if (!models.includes(model)) {
    return `The '${model}' model is not supported when using Codex with a ChatGPT account.`;
  }
  if (typeof body.input !== 'string' && !Array.isArray(body.input)) return 'Input must be a list';
  if (Array.isArray(body.input)) {
    for (const [i, item] of body.input.entries()) {
      const problem = reasoningItemProblem(item, i);
      if (problem) return problem;
    }
    return validateInput(body.input);
  }
  return undefined;
}

/**
 * A replayed reasoning item must carry encrypted_content this backend issued: with store:false
 * nothing is persisted, so an id alone refers to nothing, and foreign or altered ciphertext
 * cannot be decrypted.
 */
function reasoningItemProblem(item: unknown, i: number): string | undefined {
  if (typeof item !== 'object' || item === null || (item as { type?: unknown }).type !== 'reasoning') return undefined;
  const { id, encrypted_content: encrypted } = item as { id?: unknown; encrypted_content?: unknown };
  if (typeof encrypted === 'string') {
    if (isIssuedReasoning(encrypted)) return undefined;
    return `Invalid 'input[${i}].encrypted_content': the encrypted content could not be verified or decrypted.`;
  }
  return `Item with id '${typeof id === 'string' ? id : ''}' not found. Items are not persisted when \`store\` is set to false. Try again with \`store\` set to true, or remove this item from your input.`;
}

function usageLimit(res: ServerResponse, account: SandboxAccount, resetsAt: number, resetsInSeconds: number, headers: Record<string, string>): void {
  sendJson(
    res,
    429,
    {
      error: {
        type: 'usage_limit_reached',
        message: 'The usage limit has been reached',
        plan_type: account.plan,
        resets_at: resetsAt,
        resets_in_seconds: resetsInSeconds,
      },
    },
    headers,
  );
}

export function responsesEndpoint(core: SandboxCore) {
  return async (req: Request, res: ServerResponse): Promise<void> => {
    const account = authenticate(core, req, res);
    if (!account) return;
    core.stats.bump('requests', account.accountId);
    const text = await readBodyText(req.raw);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(400, { detail: 'Request body is not valid JSON' });
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, { detail: 'Request body must be a JSON object' });
    const request = body as Record<string, unknown>;
    core.requestLog.record(req, request);
    const problem = validate(request, core.modelsFor(account.plan));
    if (problem !== undefined) {
      const headers = usageHeaders(core.quotas.view(account.accountId));
      return typeof problem === 'string' ? detail(res, problem, headers) : sendJson(res, 400, problem, headers);
    }

    const quota = core.quotas.check(account.accountId);
    if (!quota.ok) {
      core.stats.bump('rateLimited', account.accountId);
      return usageLimit(res, account, quota.resetsAt, quota.resetsInSeconds, usageHeaders(core.quotas.view(account.accountId)));
    }
    const faults = core.faults.take(account);
    const outcome = faults.outcome;
    if (outcome?.kind === 'status') {
      const headers = usageHeaders(core.quotas.view(account.accountId));
      if (outcome.status === 429) {
        core.stats.bump('rateLimited', account.accountId);
        const inSeconds = outcome.resetsInSeconds ?? DEFAULT_FAULT_RESET_SECONDS;
        return usageLimit(res, account, Math.ceil(core.clock.now() / 1000) + inSeconds, inSeconds, headers);
      }
      if (outcome.status === 400 || outcome.status === 413 || outcome.status === 422) {
        const why = { 400: 'Invalid request body', 413: 'Request body too large', 422: 'Unprocessable request body' }[outcome.status];
        return sendJson(res, outcome.status, { detail: why }, headers);
      }
      core.stats.bump('failures', account.accountId);
      if (outcome.status === 503) {
        return sendJson(res, 503, { error: { type: 'server_is_overloaded', code: 'server_is_overloaded', message: 'Our servers are currently overloaded. Please try again later.' } }, headers);
      }
      return sendJson(res, 500, { error: { type: 'server_error', code: 'server_error', message: 'An error occurred while processing your request.' } }, headers);
    }
    core.quotas.record(account.accountId);
    const headers = { ...usageHeaders(core.quotas.view(account.accountId)), 'x-request-id': core.nextId('req') };

    const identity: ResponseIdentity = {
      id: core.nextId('resp'),
      createdAt: Math.floor(core.clock.now() / 1000),
      model: String(request.model),
      request,
      nextId: (prefix) => core.nextId(prefix),
    };
    let events;
    if (outcome?.kind === 'response_failed') {
      core.stats.bump('failures', account.accountId);
      events = failedEvents(identity, { code: outcome.code, message: outcome.message });
    } else {
      const plan = planReply(request);
      const cacheKey = typeof request.prompt_cache_key === 'string' ? `${account.accountId}\u0000${request.prompt_cache_key}` : undefined;
      // cached tokens: what this account saw for the same prompt_cache_key before (computeUsage caps it at the input)
      const usage = computeUsage(request, plan.items, cacheKey !== undefined ? (core.promptCache.get(cacheKey) ?? 0) : 0);
      if (cacheKey !== undefined) core.promptCache.set(cacheKey, usage.input_tokens);
      events = completedEvents(identity, plan.items, usage);
    }
    let disconnectAfter: number | undefined;
    if (outcome?.kind === 'disconnect') {
      core.stats.bump('failures', account.accountId);
      disconnectAfter = Math.min(Math.max(0, outcome.afterEvents ?? DEFAULT_DISCONNECT_AFTER_EVENTS), events.length - 1);
    }
    await streamEvents(res, headers, events, { delayMs: faults.slow?.delayMs ?? 0, disconnectAfter });
  };
}

export function modelsEndpoint(core: SandboxCore) {
  return (req: Request, res: ServerResponse): void => {
    core.requestLog.record(req);
    const account = authenticate(core, req, res);
    if (!account) return;
    const headers = usageHeaders(core.quotas.view(account.accountId));
    const clientVersion = req.query.get('client_version');
    if (clientVersion === null) {
      // the backend's own (FastAPI) validation error
      return sendJson(res, 400, { detail: [{ type: 'missing', loc: ['query', 'client_version'], msg: 'Field required', input: null }] }, headers);
    }
    sendJson(res, 200, modelsListing(visibleTo(clientVersion, core.modelsFor(account.plan))), { ...headers, etag: '"sandbox-models-1"' });
  };
}

/** GET /backend-api/wham/usage: the account's usage windows (what `codex /status` shows). */
export function whamUsageEndpoint(core: SandboxCore) {
  return (req: Request, res: ServerResponse): void => {
    const account = authenticate(core, req, res);
    if (!account) return;
    const v = core.quotas.view(account.accountId);
    const limited = !core.quotas.check(account.accountId).ok;
    sendJson(
      res,
      200,
      {
        plan_type: account.plan,
        rate_limit: {
          allowed: !limited,
          limit_reached: limited,
          primary_window: {
            used_percent: v.primaryUsedPercent,
            limit_window_seconds: v.primaryWindowMinutes * 60,
            reset_after_seconds: v.primaryResetAfterSeconds,
            reset_at: v.primaryResetAt,
          },
          secondary_window: {
            used_percent: v.secondaryUsedPercent,
            limit_window_seconds: v.secondaryWindowMinutes * 60,
            reset_after_seconds: v.secondaryResetAfterSeconds,
            reset_at: v.secondaryResetAt,
          },
        },
        credits: null,
      },
      usageHeaders(v),
    );
  };
}

/** GET /backend-api/wham/accounts/check: the workspaces this login can use (just its own account). */
export function accountsCheckEndpoint(core: SandboxCore) {
  return (req: Request, res: ServerResponse): void => {
    const account = authenticate(core, req, res);
    if (!account) return;
    sendJson(res, 200, {
      accounts: [{ id: account.accountId, account_id: account.accountId, plan_type: account.plan, structure: 'personal', name: null, is_default: true }],
      account_ordering: [account.accountId],
    });
  };
}

/** GET /backend-api/wham/settings/user: per-user Codex settings. */
export function userSettingsEndpoint(core: SandboxCore) {
  return (req: Request, res: ServerResponse): void => {
    if (!authenticate(core, req, res)) return;
    sendJson(res, 200, { commit_attribution_enabled: false });
  };
}

/** POST /backend-api/codex/analytics-events/events: accepted and discarded (the sandbox keeps no telemetry). */
export function analyticsEndpoint() {
  return async (req: Request, res: ServerResponse): Promise<void> => {
    await readBodyText(req.raw);
    sendJson(res, 200, {});
  };
}
