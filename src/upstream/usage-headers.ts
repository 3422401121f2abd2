import type { UsageSnapshot, UsageWindow } from './types.js';

/**
 * x-codex-{primary,secondary}-{used-percent,window-minutes,reset-at,reset-after-seconds}
 * → UsageSnapshot. `reset-at` is unix seconds (turned into ms); when only
 * `reset-after-seconds` is present and `now` is given, resetAt = now + that.
 * Missing or unparsable headers are left out; a window with nothing usable is omitted.
 */
export type HeaderBag = Record<string, string | string[] | undefined> | Headers;

export function headerValue(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const direct = bag[name] ?? bag[name.toLowerCase()];
  const v = direct ?? Object.entries(bag).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  return Array.isArray(v) ? v[0] : v;
}

function numberHeader(headers: HeaderBag, name: string): number | undefined {
  const raw = headerValue(headers, name);
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw.trim());
  return Number.isFinite(n) ? n : undefined;
}

function windowFrom(headers: HeaderBag, which: 'primary' | 'secondary', now: number | undefined): UsageWindow | undefined {
  const prefix = `x-codex-${which}-`;
  const w: UsageWindow = {};
  const used = numberHeader(headers, `${prefix}used-percent`);
  const minutes = numberHeader(headers, `${prefix}window-minutes`);
  const resetAtSeconds = numberHeader(headers, `${prefix}reset-at`);
  const after = numberHeader(headers, `${prefix}reset-after-seconds`);
  if (used !== undefined) w.usedPercent = used;
  if (minutes !== undefined) w.windowMinutes = minutes;
  if (after !== undefined) w.resetAfterSeconds = after;
  if (resetAtSeconds !== undefined) w.resetAt = Math.round(resetAtSeconds * 1000);
  else if (after !== undefined && now !== undefined) w.resetAt = now + Math.round(after * 1000);
  return Object.keys(w).length > 0 ? w : undefined;
}

export function parseUsageHeaders(headers: HeaderBag, now?: number): UsageSnapshot {
  const snapshot: UsageSnapshot = {};
  const primary = windowFrom(headers, 'primary', now);
  const secondary = windowFrom(headers, 'secondary', now);
  if (primary) snapshot.primary = primary;
  if (secondary) snapshot.secondary = secondary;
  return snapshot;
}
