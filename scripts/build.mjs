/**
 * `npm run build`, after `tsc --noEmit` (the type check): what bin/cliproxy.js runs.
 *
 * 1. dist/cliproxy.cjs: src/ and its dependencies bundled by esbuild into one CommonJS file.
 *    Unbundled, `cliproxy serve` resolved, read and compiled ~500 files (fastify and its
 *    plugins, undici, pino, zod with its 64 locale files, …) before listening; the bundle is one
 *    file, without what is never imported (zod's locales and JSON-schema tools). CommonJS
 *    because Node 20 can cache the compiled code of a script (2.) but not of an ES module.
 * 2. dist/cliproxy.cjs.cache: V8's code cache for that file, made by running `cliproxy serve`
 *    once (an empty auth dir, port 0, the upstream set to a closed local port) and saving the
 *    compiled code at its exit. bin/cliproxy.js hands it to V8, which then skips parsing and
 *    compiling everything start-up runs. The file starts with the SHA-256 of the bundle and of
 *    the cache data: a cache that is not the bundle's, or damaged, is not used (V8 then compiles
 *    as usual), and V8 itself refuses one made by another Node version.
 *
 * Not bundled (loaded from node_modules when used): packages that find files next to
 * themselves (`open` runs its own xdg-open script), optional native addons (`pg-native`), and
 * what fastify, pino or our code only require lazily and the server never uses (fastify's ajv
 * and fast-json-stringify compilers: no route has a schema; light-my-request: tests only;
 * pino-pretty and yaml: pretty logs on a terminal, YAML config files).
 *
 * Names are kept (stack traces name the real functions); whitespace and syntax are minified
 * (less to read and parse when the cache cannot be used); the source map is written next to the
 * bundle (`node --enable-source-maps bin/cliproxy.js …` shows TypeScript positions).
 */
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist');
const bundle = path.join(outdir, 'cliproxy.cjs');

const EXTERNAL = ['open', 'pg-native', 'ajv', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'light-my-request', 'pino-pretty', 'yaml'];

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outfile: bundle,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // import() stays import() (`open` is an ES module: require() cannot load it on every Node 20)
  supported: { 'dynamic-import': true },
  external: EXTERNAL,
  // import.meta.url (package.json lookup, createRequire) is the bundle's own URL
  define: { 'import.meta.url': '__cliproxyImportMetaUrl' },
  banner: { js: "const __cliproxyImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
});

// bin/cliproxy.js reads the bundle as latin1 (a one-byte string, no UTF-8 decoding: ~15 ms less
// at start-up): it must be ASCII. esbuild escapes strings and templates, but not String.raw ones.
const bytes = readFileSync(bundle);
const nonAscii = bytes.findIndex((b) => b > 0x7f);
if (nonAscii !== -1) {
  throw new Error(`build: dist/cliproxy.cjs must be ASCII; a String.raw text holds a non-ASCII character (write it as \\uXXXX): …${bytes.subarray(Math.max(0, nonAscii - 60), nonAscii + 4).toString('utf8')}`);
}

await writeCodeCache();

/** Runs `cliproxy serve` once with CLIPROXY_CODE_CACHE=write: the bin writes the cache when the process exits. */
async function writeCodeCache() {
  const home = mkdtempSync(path.join(tmpdir(), 'cliproxy-build-'));
  try {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'cliproxy.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--auth-dir', path.join(home, 'auth')], {
      cwd: home,
      // nothing from the caller's environment (no config file, no store URL): an empty file store, no upstream.
      // CLIPROXY_GC_TUNING=off: V8 refuses a code cache made under other flags than its own (it keeps
      // a hash of them), and `serve` changes two (src/app/gc-schedule.ts) after the cache is read
      env: { PATH: process.env.PATH ?? '', HOME: home, CLIPROXY_CODE_CACHE: 'write', CLIPROXY_GC_TUNING: 'off', CLIPROXY_CODEX_ISSUER: 'http://127.0.0.1:9', CLIPROXY_CODEX_BASE_URL: 'http://127.0.0.1:9/backend-api/codex' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d.toString()));
    const exited = new Promise((resolve) => child.once('close', (code) => resolve(code)));
    const listening = new Promise((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d.toString();
        if (/listening on /.test(stdout)) resolve(true);
      });
      void exited.then(() => resolve(false));
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const ok = await listening;
    child.kill('SIGTERM');
    const code = await exited;
    clearTimeout(timer);
    if (!ok || code !== 0 || !existsSync(`${bundle}.cache`)) {
      throw new Error(`build: the code cache run of \`cliproxy serve\` failed (exit ${code}).\n${stdout}${stderr}`);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
