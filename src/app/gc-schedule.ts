/**
 * When V8 starts an old-generation collection in the long-running server.
 *
 * V8 (11.3, in Node 20; later versions not checked) starts incremental marking as soon as the
 * room left under the old generation's limit is smaller than the young generation's capacity
 * (unless one of the two flags below is set, which replace that rule). A burst of concurrent
 * streams grows the young generation to its maximum (2 × 16 MB here) and V8 does not shrink it
 * while requests keep coming; the server's own live heap is small (~14 MB), so the room under its
 * limit (~24 MB) stays below that capacity, and every collection was a full mark-compact: one every
 * ~160 ms at one request at a time, ~8 % of the CPU and most of the p99 (bench, README's
 * Performance section). With these two flags V8 decides by the share of the limit used instead:
 * marking starts in a task past 70 % of the limit, at once past 90 %; the limit itself is V8's own.
 *
 * The flags are V8's and apply to the whole process, so only `serve` sets them, at its start, and
 * not when the user chose a marking trigger of their own (NODE_OPTIONS or node's flags), nor with
 * CLIPROXY_GC_TUNING=off.
 */

import { ConfigError } from '../config/load.js';

/** The flags `serve` sets (v8.setFlagsFromString, one at a time). */
export const SERVER_GC_FLAGS: readonly string[] = ['--incremental-marking-soft-trigger=70', '--incremental-marking-hard-trigger=90'];

const USER_TRIGGER = /--incremental[-_]marking[-_](?:soft|hard)[-_]trigger/;

/**
 * The flags to set for a server process: SERVER_GC_FLAGS, or none when `env.CLIPROXY_GC_TUNING`
 * is `off` or node was given a marking trigger already (in `execArgv` or `env.NODE_OPTIONS`).
 * CLIPROXY_GC_TUNING takes `on` (the default) or `off`; anything else is a ConfigError.
 */
export function serverGcFlags(env: NodeJS.ProcessEnv, execArgv: readonly string[]): readonly string[] {
  const setting = env['CLIPROXY_GC_TUNING']?.trim().toLowerCase() ?? '';
  if (setting !== '' && setting !== 'on' && setting !== 'off') throw new ConfigError(`CLIPROXY_GC_TUNING: expected on or off, got "${env['CLIPROXY_GC_TUNING']}"`);
  if (setting === 'off') return [];
  if (execArgv.some((a) => USER_TRIGGER.test(a)) || USER_TRIGGER.test(env['NODE_OPTIONS'] ?? '')) return [];
  return SERVER_GC_FLAGS;
}
