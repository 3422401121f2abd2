/**
 * CLIProxyAPI (Go) takes single-dash long flags: `-codex-login`, `-codex-device-login`,
 * `-no-browser`, `-oauth-callback-port 9000`, `-config F`, `-auth-dir D`. This maps such an
 * argv onto our subcommands so every command in the seed documents works as written.
 */

/** Legacy flags that select a command, with the arguments they stand for. */
const COMMAND_FLAGS: Record<string, string[]> = {
  '-codex-login': ['login'],
  '--codex-login': ['login'],
  '-codex-device-login': ['login', '--device-auth'],
  '--codex-device-login': ['login', '--device-auth'],
};

const SINGLE_DASH_LONG = /^-[a-z][a-z0-9]*(-[a-z0-9]+)+$|^-[a-z]{2,}[a-z0-9]*$/;

/** The subcommands, in the order --help lists them; main.ts registers one per name (checked by the compiler). */
export const COMMAND_NAMES = ['serve', 'login', 'status', 'logout', 'exec', 'store', 'sandbox', 'demo'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** Words that select a command: the subcommands and commander's `help`. */
export const KNOWN_COMMANDS: readonly string[] = [...COMMAND_NAMES, 'help'];

/**
 * Rewrites legacy argv into the subcommand form:
 *   ["-codex-login", "-no-browser"]          → ["login", "--no-browser"]
 *   ["-config", "c.yaml", "-codex-device-login"] → ["login", "--device-auth", "--config", "c.yaml"]
 *   ["-config", "c.yaml"]                    → ["serve", "--config", "c.yaml"]
 * Arguments after `--` and the positional prompt of `exec` are left alone.
 */
export function mapLegacyArgs(argv: readonly string[]): string[] {
  let command: string[] | null = null;
  const rest: string[] = [];
  let passthrough = false;
  for (const arg of argv) {
    if (passthrough || arg === '--') {
      passthrough = true;
      rest.push(arg);
      continue;
    }
    const mapped = COMMAND_FLAGS[arg];
    if (mapped && command === null) {
      command = [...mapped];
      continue;
    }
    const afterValueFlag = VALUE_FLAGS.has(rest[rest.length - 1] ?? '');
    if (command === null && !afterValueFlag && KNOWN_COMMANDS.includes(arg)) {
      command = [arg];
      continue;
    }
    rest.push(SINGLE_DASH_LONG.test(arg) ? `-${arg}` : arg);
  }
  if (command !== null) return [...command, ...rest];
  const wantsTopLevel = rest.some((a) => a === '--help' || a === '-h' || a === '--version' || a === '-V');
  const hasPositional = rest.some((a, i) => !a.startsWith('-') && !VALUE_FLAGS.has(rest[i - 1] ?? ''));
  // an unknown word stays first so commander reports it as an unknown command
  if (wantsTopLevel || hasPositional) return rest;
  return ['serve', ...rest];
}

/** Flags (in any command) that take a value, so the next argument is not a command name. */
const VALUE_FLAGS = new Set(['--config', '--auth-dir', '--oauth-callback-port', '--port', '--host', '--timeout', '--model']);
