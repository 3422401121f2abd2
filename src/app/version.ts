import { readFileSync } from 'node:fs';

interface PackageJson {
  version?: string;
  devDependencies?: Record<string, string>;
}

/**
 * package.json, read once when this module loads: a process that drops privileges after
 * start-up (or whose checkout becomes unreadable) must not fail later on a lazy read. Found by
 * walking up from this file: src/app/ when run from the sources, dist/ when run from the bundle.
 */
const PACKAGE_JSON: PackageJson | Error = (() => {
  let lastError: Error = new Error('package.json of cliproxy not found');
  for (let dir = new URL('.', import.meta.url), i = 0; i < 4; dir = new URL('..', dir), i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as PackageJson & { name?: string };
      if (pkg.name === 'cliproxy') return pkg;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') lastError = err as Error;
    }
  }
  return lastError;
})();

function readPackageJson(): PackageJson {
  if (PACKAGE_JSON instanceof Error) throw PACKAGE_JSON;
  return PACKAGE_JSON;
}

/** The package version (`cliproxy --version`). */
export function packageVersion(): string {
  try {
    return readPackageJson().version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * The Codex CLI version cliproxy claims upstream by default (`codex.client-version`): the
 * `@openai/codex` version the project is tested against, pinned exactly in package.json's
 * devDependencies. That pin is the one place to change: bump it (`npm install -D -E
 * @openai/codex@X.Y.Z`), and the test client and the claimed version move together.
 */
export function codexCliVersion(): string {
  const spec = readPackageJson().devDependencies?.['@openai/codex'];
  const version = /^[~^=v]*(\d+\.\d+\.\d+)$/.exec(spec?.trim() ?? '')?.[1];
  if (!version) throw new Error(`package.json: devDependencies["@openai/codex"] must pin an exact version (X.Y.Z), got ${JSON.stringify(spec)}`);
  return version;
}
