import { InvalidRequestError } from '../errors.js';

/**
 * A request body for POST /responses, serialised once: every attempt of a request (one per
 * account tried) sends the same text. Handlers make it as soon as the body is final and keep
 * nothing else of the request: while an answer has not started, the attempt holds only this
 * text, not the parsed conversation next to it (under a burst of new streams, whatever a
 * waiting request holds outlives the young generation and stays behind as old-generation
 * garbage once the stream started).
 */
export class UpstreamBody {
  private constructor(
    /** The JSON text sent upstream. */
    readonly text: string,
    /** Its length in UTF-8 bytes (the content-length). */
    readonly byteLength: number,
  ) {}

  /**
   * The body as JSON. A body JSON cannot represent (a BigInt, a cycle, nesting deep enough to
   * overflow the stack) is the request's fault: a 400, never an account's failure.
   */
  static of(body: Record<string, unknown>): UpstreamBody {
    let text: string;
    try {
      text = JSON.stringify(body);
    } catch (err) {
      const reason = err instanceof RangeError ? 'it is nested too deeply' : 'it holds a value JSON cannot represent';
      throw new InvalidRequestError(`The request body cannot be sent upstream: ${reason}.`, { code: 'invalid_body', cause: err });
    }
    return new UpstreamBody(text, Buffer.byteLength(text, 'utf8'));
  }
}
