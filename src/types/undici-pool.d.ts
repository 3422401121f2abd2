/**
 * undici's Pool on its own: `import { Pool } from 'undici'` evaluates the whole package (fetch,
 * WebSocket, cookies, cache, and through them Node's own bundled undici), about 70 ms of the
 * server's start-up. The file is undici's own Pool (the package has no exports map), typed as
 * the package types it.
 */
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici';
  const PoolClass: typeof Pool;
  export default PoolClass;
}
