/**
 * Where the server may listen. Without api-keys anyone who can reach the port can spend the
 * ChatGPT accounts, so only loopback addresses are allowed until keys are configured.
 */
import { isIP } from 'node:net';

export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice('::ffff:'.length));
  return false;
}

export class HostNotAllowedError extends Error {
  constructor(host: string) {
    super(
      `Refusing to listen on ${host}: no api-keys are configured, so anyone who can reach this address could use your ChatGPT accounts. ` +
        'Set api-keys first (config file `api-keys:` or CLIPROXY_API_KEYS=key1,key2), or listen on 127.0.0.1.',
    );
    this.name = 'HostNotAllowedError';
  }
}

/** Throws HostNotAllowedError when `host` is not loopback and there are no API keys. */
export function assertHostAllowed(host: string, apiKeys: readonly string[]): void {
  if (apiKeys.length === 0 && !isLoopbackHost(host)) throw new HostNotAllowedError(host);
}
