/**
 * prom-client's Registry, Counter and Gauge on their own: the package's index also loads the
 * default process metrics, histograms, summaries, the push gateway and the cluster aggregator
 * (and through them @opentelemetry/api), about 40 ms of the server's start-up for nothing used
 * here. The files are prom-client's own (the package has no exports map), typed as it types them.
 */
declare module 'prom-client/lib/registry.js' {
  import type { Registry } from 'prom-client';
  const RegistryClass: typeof Registry;
  export default RegistryClass;
}
declare module 'prom-client/lib/counter.js' {
  import type { Counter } from 'prom-client';
  const CounterClass: typeof Counter;
  export default CounterClass;
}
declare module 'prom-client/lib/gauge.js' {
  import type { Gauge } from 'prom-client';
  const GaugeClass: typeof Gauge;
  export default GaugeClass;
}
