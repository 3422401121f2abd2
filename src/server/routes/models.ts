import type { FastifyPluginAsync } from 'fastify';
import { modelNotFound } from '../model-catalog.js';
import type { RouteContext } from './context.js';

/**
 * GET /v1/models in OpenAI's list format. Codex clients ask their provider's base_url for
 * `/models?client_version=…` and expect the backend's own `{"models":[…]}` shape: they get the
 * backend's list unchanged, as on /backend-api/codex/models.
 */
export const modelsRoutes: FastifyPluginAsync<RouteContext> = async (app, ctx) => {
  app.get<{ Querystring: { client_version?: string } }>('/v1/models', async (req) => {
    if (req.query.client_version !== undefined) return { models: await ctx.handlers.catalog.backendModels() };
    return { object: 'list', data: await ctx.handlers.catalog.list() };
  });

  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    const models = await ctx.handlers.catalog.list();
    const found = models.find((m) => m.id === req.params.id);
    if (!found) throw modelNotFound(req.params.id, models.map((m) => m.id));
    return found;
  });

  app.get('/backend-api/codex/models', async () => ({ models: await ctx.handlers.catalog.backendModels() }));
};
