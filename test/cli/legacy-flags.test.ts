import { describe, expect, it } from 'vitest';
import { mapLegacyArgs } from '../../src/cli/legacy-flags.js';

describe('mapLegacyArgs', () => {
  const cases: Array<[string[], string[]]> = [
    [[], ['serve']],
    [['-codex-login'], ['login']],
    [['-codex-login', '-no-browser'], ['login', '--no-browser']],
    [['-codex-login', '-oauth-callback-port', '9000'], ['login', '--oauth-callback-port', '9000']],
    [['-codex-device-login'], ['login', '--device-auth']],
    [['-config', 'c.yaml', '-codex-device-login'], ['login', '--device-auth', '--config', 'c.yaml']],
    [['-config', 'c.yaml'], ['serve', '--config', 'c.yaml']],
    [['-auth-dir', '/tmp/a'], ['serve', '--auth-dir', '/tmp/a']],
    [['--config', 'serve.yaml'], ['serve', '--config', 'serve.yaml']],
    [['login', '--device-auth'], ['login', '--device-auth']],
    [['login', 'status'], ['login', 'status']],
    [['exec', '-m', 'gpt-5', 'Return OK.'], ['exec', '-m', 'gpt-5', 'Return OK.']],
    [['exec', '--', '-codex-login'], ['exec', '--', '-codex-login']],
    [['--help'], ['--help']],
    [['-V'], ['-V']],
    [['frob'], ['frob']],
    [['-debug'], ['serve', '--debug']],
  ];
  it.each(cases)('%j → %j', (input, expected) => {
    expect(mapLegacyArgs(input)).toEqual(expected);
  });
});
