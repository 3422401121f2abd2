/**
 * One POST to the issuer (token endpoint, device-code endpoints) with a timeout, shared by the
 * token client and the device login. A request that gets no answer becomes IssuerUnreachable
 * with a short reason (an error code like ECONNREFUSED, or "no answer within 30 s"); an abort
 * by the caller's own signal passes through unchanged.
 */
export class IssuerUnreachable extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
    this.name = 'IssuerUnreachable';
  }
}

/** The most useful short description of a fetch failure: the cause's code, else a message. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

export interface IssuerPost {
  fetch: typeof fetch;
  url: string;
  contentType: string;
  body: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export async function postToIssuer(p: IssuerPost): Promise<Response> {
  const timeout = AbortSignal.timeout(p.timeoutMs);
  const combined = p.signal ? AbortSignal.any([p.signal, timeout]) : timeout;
  try {
    return await p.fetch(p.url, {
      method: 'POST',
      headers: { 'Content-Type': p.contentType, Accept: 'application/json' },
      body: p.body,
      signal: combined,
    });
  } catch (err) {
    if (p.signal?.aborted) throw err;
    const reason = timeout.aborted ? `no answer within ${Math.round(p.timeoutMs / 1000)} s` : networkReason(err);
    throw new IssuerUnreachable(reason, { cause: err });
  }
}
