/**
 * The ChatGPT "apps" surface the Codex CLI touches at startup when chatgpt_base_url points at
 * the sandbox: the plugin catalog (empty) and the apps MCP server (no tools). Serving them
 * empty keeps the CLI quiet and offline; the sandbox has no plugins or connectors.
 */
import type { ServerResponse } from 'node:http';
import type { SandboxCore } from './core.js';
import { bearerToken, readBodyText, sendAuthError, sendJson, type Request } from './http.js';

const MCP_PROTOCOL_VERSION = '2025-06-18';

function authorized(core: SandboxCore, req: Request, res: ServerResponse): boolean {
  const token = bearerToken(req);
  const check = token ? core.tokens.checkAccess(token) : undefined;
  if (check?.ok) return true;
  sendAuthError(res, 'invalid_token', 'A valid access token is required.');
  return false;
}

/** GET /backend-api/ps/plugins/installed and /list: an empty page. */
export function emptyPluginPage(core: SandboxCore) {
  return (req: Request, res: ServerResponse): void => {
    if (!authorized(core, req, res)) return;
    const limit = Number(req.query.get('limit') ?? 200);
    sendJson(res, 200, { plugins: [], pagination: { limit: Number.isFinite(limit) ? limit : 200, next_page_token: null } });
  };
}

/** GET /backend-api/ps/plugins/suggested/codex: no suggestions. */
export function noSuggestedPlugins(core: SandboxCore) {
  return (req: Request, res: ServerResponse): void => {
    if (!authorized(core, req, res)) return;
    sendJson(res, 200, { enabled: false, plugins: [] });
  };
}

type JsonRpc = { jsonrpc?: string; id?: string | number | null; method?: string };

function mcpResult(method: string | undefined): Record<string, unknown> | undefined {
  switch (method) {
    case 'initialize':
      return { protocolVersion: MCP_PROTOCOL_VERSION, capabilities: { tools: { listChanged: false }, resources: {} }, serverInfo: { name: 'cliproxy-sandbox-apps', version: '1.0.0' } };
    case 'tools/list':
      return { tools: [] };
    case 'resources/list':
      return { resources: [] };
    case 'resources/templates/list':
      return { resourceTemplates: [] };
    case 'ping':
      return {};
    default:
      return undefined;
  }
}

function answer(msg: JsonRpc): Record<string, unknown> | undefined {
  if (msg.id === undefined || msg.id === null) return undefined; // a notification
  const result = mcpResult(msg.method);
  if (result) return { jsonrpc: '2.0', id: msg.id, result };
  return { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: `Method not found: ${String(msg.method)}` } };
}

/** POST /backend-api/ps/mcp: a streamable-HTTP MCP server with no tools (JSON responses). It exposes nothing, so it needs no token. */
export function appsMcpEndpoint() {
  return async (req: Request, res: ServerResponse): Promise<void> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readBodyText(req.raw));
    } catch {
      return sendJson(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    }
    const messages = (Array.isArray(parsed) ? parsed : [parsed]) as JsonRpc[];
    const replies = messages.map(answer).filter((r): r is Record<string, unknown> => r !== undefined);
    const headers = { 'mcp-session-id': 'sandbox-apps' };
    if (replies.length === 0) {
      res.writeHead(202, headers);
      res.end();
      return;
    }
    sendJson(res, 200, Array.isArray(parsed) ? replies : replies[0], headers);
  };
}
