/**
 * Prometheus metrics on a Registry of our own (never prom-client's global one, so two servers in
 * one process do not clash). Account labels are `accountLabel(accountId)`: 8 hex of sha256, never
 * an email or a token.
 */
import { createHash } from 'node:crypto';
// prom-client's parts, not its index (start-up time; see src/types/prom-client-parts.d.ts)
import type { Counter, Gauge, Registry } from 'prom-client';
import CounterClass from 'prom-client/lib/counter.js';
import GaugeClass from 'prom-client/lib/gauge.js';
import RegistryClass from 'prom-client/lib/registry.js';

export function accountLabel(accountId: string): string {
  return createHash('sha256').update(accountId, 'utf8').digest('hex').slice(0, 8);
}

/**
 * accountLabel with a cache: the label is computed once per account instead of once per attempt.
 * Bounded so a long-running server with ever-changing accounts does not grow without end.
 */
export function cachedAccountLabel(maxEntries = 10_000): (accountId: string) => string {
  const labels = new Map<string, string>();
  return (accountId) => {
    let label = labels.get(accountId);
    if (label === undefined) {
      if (labels.size >= maxEntries) labels.clear();
      label = accountLabel(accountId);
      labels.set(accountId, label);
    }
    return label;
  };
}

export interface ServerMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  upstreamAttempts: Counter<'account' | 'outcome'>;
  activeStreams: Gauge;
  accounts: Gauge<'state'>;
}

export function createMetrics(accountCounts: () => { total: number; usable: number }): ServerMetrics {
  const registry = new RegistryClass();
  const requests = new CounterClass({
    name: 'cliproxy_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const upstreamAttempts = new CounterClass({
    name: 'cliproxy_upstream_attempts_total',
    help: 'Upstream /responses attempts by account (sha256 prefix of the account id) and outcome (ok or failure kind)',
    labelNames: ['account', 'outcome'] as const,
    registers: [registry],
  });
  const activeStreams = new GaugeClass({ name: 'cliproxy_active_streams', help: 'Streaming responses in progress', registers: [registry] });
  const accounts = new GaugeClass({
    name: 'cliproxy_accounts',
    help: 'Accounts known to the pool (total) and able to serve now (usable)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const c = accountCounts();
      this.set({ state: 'total' }, c.total);
      this.set({ state: 'usable' }, c.usable);
    },
  });
  return { registry, requests, upstreamAttempts, activeStreams, accounts };
}
