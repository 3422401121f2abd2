#!/usr/bin/env node
/**
 * The installed command: runs dist/cliproxy.cjs, the bundle `npm run build` makes
 * (scripts/build.mjs), with V8's code cache made at build time (dist/cliproxy.cjs.cache), so
 * what start-up runs is not parsed and compiled again on every start.
 *
 * The cache is used only when its header names this very bundle and its data is intact (SHA-256
 * of both); otherwise, or when V8 refuses it (another Node version), the bundle is compiled as
 * usual. CLIPROXY_CODE_CACHE: `off` compiles without it, `report` says on stderr whether it was
 * used, `write` (the build) writes it when the process exits.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

// A closed pipe (`cliproxy status | head -1`) is a normal end, not a crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const MAGIC = Buffer.from('cliproxy-code-cache-1\n');
const bundleFile = fileURLToPath(new URL('../dist/cliproxy.cjs', import.meta.url));
const cacheFile = `${bundleFile}.cache`;
const mode = process.env.CLIPROXY_CODE_CACHE ?? '';
if (!['', 'off', 'report', 'write'].includes(mode)) console.error(`CLIPROXY_CODE_CACHE=${mode} is not off, report or write: the code cache is used as usual.`);

let bundle;
try {
  bundle = readFileSync(bundleFile);
} catch (err) {
  console.error(`cliproxy is not built (${bundleFile}: ${err.code ?? err.message}); run \`npm run build\` in ${path.dirname(path.dirname(bundleFile))}.`);
  process.exit(1);
}
const sha256 = (data) => createHash('sha256').update(data).digest();
const bundleHash = sha256(bundle);

/** The cache's V8 data, when the file is this bundle's and intact. */
function readCache() {
  if (mode === 'off' || mode === 'write') return { data: undefined, why: mode };
  let file;
  try {
    file = readFileSync(cacheFile);
  } catch {
    return { data: undefined, why: 'absent' };
  }
  const dataAt = MAGIC.length + 64;
  if (file.length <= dataAt || !file.subarray(0, MAGIC.length).equals(MAGIC)) return { data: undefined, why: 'not a cache file' };
  if (!file.subarray(MAGIC.length, MAGIC.length + 32).equals(bundleHash)) return { data: undefined, why: 'made for another build' };
  const data = file.subarray(dataAt);
  if (!file.subarray(MAGIC.length + 32, dataAt).equals(sha256(data))) return { data: undefined, why: 'damaged' };
  return { data, why: 'used' };
}

const cache = readCache();
// the bundle is ASCII (the build checks it): latin1 reads it as is, into a one-byte string
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${bundle.toString('latin1')}\n})`, {
  filename: bundleFile,
  cachedData: cache.data,
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
if (mode === 'report') console.error(`code cache: ${cache.data && script.cachedDataRejected ? 'refused by V8' : cache.why}`);
if (mode === 'write') {
  process.once('exit', () => {
    const data = script.createCachedData();
    writeFileSync(cacheFile, Buffer.concat([MAGIC, bundleHash, sha256(data), data]));
  });
}

const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundleFile), module, bundleFile, path.dirname(bundleFile));
const { main } = module.exports;

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
