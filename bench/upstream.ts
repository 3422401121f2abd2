/**
 * Bench process: the upstream. The sandbox (the project's emulator of the Codex backend) with
 * zero delay, in its own process, with accounts minted up front. Prints one JSON line
 * `{ url, baseUrl, accounts: [{ accountId, email, idToken, accessToken, refreshToken, expiresIn }] }`
 * on stdout when listening, then serves until stdin closes or SIGTERM.
 *
 * argv: JSON { accounts: number, quota?: { limit, resetsInSeconds }, slow?: { delayMs, times } }
 */
import { startSandbox } from '../src/sandbox/index.js';

interface UpstreamArgs {
  accounts: number;
  quota?: { limit: number; resetsInSeconds: number };
  slow?: { delayMs: number; times: number };
}

const args = JSON.parse(process.argv[2] ?? '{}') as UpstreamArgs;
const sandbox = await startSandbox({ quiet: true, accessTokenTtlSeconds: 24 * 3600 });
const accounts = [];
for (let i = 0; i < args.accounts; i++) {
  const minted = sandbox.mintAccount({ email: `bench${i}@example.com` });
  if (args.quota) sandbox.setQuota(minted.accountId, args.quota);
  accounts.push(minted);
}
if (args.slow) sandbox.addFault({ kind: 'slow', delayMs: args.slow.delayMs, times: args.slow.times });
process.stdout.write(`${JSON.stringify({ url: sandbox.url, baseUrl: sandbox.baseUrl, accounts, quotaSetAt: Date.now() })}\n`);

const stop = () => void sandbox.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
