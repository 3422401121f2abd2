import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { listedClaudeModels } from '../../translate/claude-models.js';
import { modelNotFound } from '../model-catalog.js';
import type { RouteContext } from './context.js';

/** An entry of Anthropic's model list. */
interface AnthropicModel {
  type: 'model';
  id: string;
  display_name: string;
  created_at: string;
}

/** Anthropic clients send `anthropic-version` with every request; they get Anthropic's list shape. */
function wantsAnthropicShape(req: FastifyRequest): boolean {
  return typeof req.headers['anthropic-version'] === 'string';
}

/**
 * GET /v1/models in OpenAI's list format, or Anthropic's (`{data:[{type:"model",id,display_name,
 * created_at}],has_more,first_id,last_id}`) when the request carries `anthropic-version`: then
 * the Claude names that /v1/messages maps (config `claude-models`, and the families) come first,
 * followed by the Codex models. Codex clients ask their provider's base_url for
 * `/models?client_version=…` and expect the backend's own `{"models":[…]}` shape: they get the
 * backend's list unchanged, as on /backend-api/codex/models.
 */
export const modelsRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  async function anthropicModels(): Promise<AnthropicModel[]> {
    const codex = await ctx.handlers.catalog.list();
    const ids = [...new Set([...listedClaudeModels(ctx.handlers.claudeModels ?? {}), ...codex.map((m) => m.id)])];
    const created = new Date(Math.max(0, ...codex.map((m) => m.created)) * 1000).toISOString();
    return ids.map((id) => ({ type: 'model', id, display_name: id, created_at: created }));
  }

  app.get<{ Querystring: { client_version?: string } }>('/v1/models', async (req) => {
    if (req.query.client_version !== undefined) return { models: await ctx.handlers.catalog.backendModels() };
    if (wantsAnthropicShape(req)) {
      const data = await anthropicModels();
      return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
    }
    return { object: 'list', data: await ctx.handlers.catalog.list() };
  });

  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    if (wantsAnthropicShape(req)) {
      const models = await anthropicModels();
      const found = models.find((m) => m.id === req.params.id);
      if (!found) throw modelNotFound(req.params.id, models.map((m) => m.id));
      return found;
    }
    const models = await ctx.handlers.catalog.list();
    const found = models.find((m) => m.id === req.params.id);
    if (!found) throw modelNotFound(req.params.id, models.map((m) => m.id));
    return found;
  });

  app.get('/backend-api/codex/models', async () => ({ models: await ctx.handlers.catalog.backendModels() }));
};
