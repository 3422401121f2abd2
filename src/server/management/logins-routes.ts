/**
 * POST /v0/management/logins {"method":"device"|"browser","port"?} starts a sign-in in the
 * server and answers {id, url, user_code?, status:"pending"}; GET …/logins/:id tells pending,
 * done (with the account) or failed (with the reason); DELETE …/logins/:id cancels it.
 */
import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { LoginError } from '../../auth/login-error.js';
import { ApiError, InvalidRequestError, NotFoundError, RateLimitError } from '../../errors.js';
import { TooManyLoginsError, type LoginManager } from './logins.js';

const startSchema = z
  .object({
    method: z.enum(['device', 'browser']),
    /** Browser method: the callback port (default 1455, as `cliproxy login`). */
    port: z.number().int().min(0).max(65535).optional(),
  })
  .strict();

export async function loginsRoutes(app: FastifyInstance, opts: { logins: LoginManager }): Promise<void> {
  app.post<{ Body: unknown }>('/v0/management/logins', async (req, reply) => {
    const parsed = startSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const param = issue.path.join('.') || null;
      throw new InvalidRequestError(`${param ?? 'body'}: ${issue.message} (send {"method":"device"} or {"method":"browser"}).`, { param, code: 'invalid_value' });
    }
    if (parsed.data.method === 'device' && parsed.data.port !== undefined) {
      throw new InvalidRequestError('port: only the browser method listens for a callback.', { param: 'port', code: 'invalid_value' });
    }
    try {
      const view = await opts.logins.start(parsed.data.method, { callbackPort: parsed.data.port });
      return reply.code(201).send(view);
    } catch (err) {
      if (err instanceof TooManyLoginsError) throw new RateLimitError(err.message, { code: 'too_many_logins' });
      if (err instanceof LoginError) throw new ApiError(502, 'upstream_error', err.message, { code: 'login_failed' });
      throw err;
    }
  });

  app.get<{ Params: { id: string } }>('/v0/management/logins/:id', async (req) => {
    const view = opts.logins.get(req.params.id);
    if (!view) throw new NotFoundError(`No sign-in ${req.params.id} (finished ones are kept for an hour).`, { code: 'login_not_found', param: 'id' });
    return view;
  });

  app.delete<{ Params: { id: string } }>('/v0/management/logins/:id', async (req) => {
    if (!opts.logins.cancel(req.params.id)) {
      throw new NotFoundError(`No pending sign-in ${req.params.id}.`, { code: 'login_not_found', param: 'id' });
    }
    return { cancelled: req.params.id };
  });
}
