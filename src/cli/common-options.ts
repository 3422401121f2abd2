import { Option, type Command } from 'commander';
import { CliError } from '../errors.js';

/** Adds the options every command takes: --config, --auth-dir, --debug. */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--config <file>', 'config file (default: $CLIPROXY_CONFIG, else ./config.yaml if present)'))
    .addOption(new Option('--auth-dir <dir>', 'directory holding account token files (default: ~/.cli-proxy-api)'))
    .addOption(new Option('--debug', 'verbose logging (never logs secrets)'));
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new CliError(`invalid port "${value}": expected a number 0-65535`, 2);
  return n;
}

export function parsePositiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new CliError(`invalid ${name} "${value}": expected a positive number`, 2);
    return n;
  };
}
