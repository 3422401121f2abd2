/**
 * The CLI from source, for tests that need a real child process (everything it prints, real
 * signals): `node --import tsx test/support/run-cli.ts <command> …`, like bin/cliproxy.js
 * without the build.
 */
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
