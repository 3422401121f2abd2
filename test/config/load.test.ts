import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { codexCliVersion } from '../../src/app/version.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { DEFAULT_BASE_URL, DEFAULT_ISSUER } from '../../src/config/schema.js';
import { main } from '../../src/cli/main.js';
import { captureContext } from '../helpers/cli-context.js';

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'cliproxy-config-'));
}

function writeConfig(dir: string, text: string, name = 'config.yaml'): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('uses defaults when there is no config file', () => {
    const dir = tempDir();
    const c = loadConfig({ env: {}, cwd: dir, home: '/home/u' });
    expect(c.source).toBe('defaults');
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1');
    expect(c.authDir).toBe('/home/u/.cli-proxy-api');
    expect(c.apiKeys).toEqual([]);
    expect(c.codex.issuer).toBe(DEFAULT_ISSUER);
    expect(c.codex.baseUrl).toBe(DEFAULT_BASE_URL);
    expect(c.routing.strategy).toBe('round-robin');
    expect(c.maxBodyMb).toBe(20);
    expect(c.requestRetry).toBe(3);
  });

  it('reads ./config.yaml when present and expands ~ in auth-dir', () => {
    const dir = tempDir();
    writeConfig(dir, 'port: 9090\nauth-dir: ~/tokens\napi-keys: [sk-test-12345678]\ncodex:\n  issuer: http://127.0.0.1:1234/\n');
    const c = loadConfig({ env: {}, cwd: dir, home: '/home/u' });
    expect(c.source).toBe(path.join(dir, 'config.yaml'));
    expect(c.port).toBe(9090);
    expect(c.authDir).toBe('/home/u/tokens');
    expect(c.apiKeys).toEqual(['sk-test-12345678']);
    expect(c.codex.issuer).toBe('http://127.0.0.1:1234');
  });

  it('precedence: flag > env > file > default', () => {
    const dir = tempDir();
    const file = writeConfig(dir, 'port: 1000\nhost: 10.0.0.1\nauth-dir: /file\n', 'c.yaml');
    const env = { CLIPROXY_CONFIG: file, CLIPROXY_PORT: '2000', CLIPROXY_AUTH_DIR: '/env' };
    const fromEnv = loadConfig({ env, cwd: dir });
    expect(fromEnv.port).toBe(2000);
    expect(fromEnv.host).toBe('10.0.0.1');
    expect(fromEnv.authDir).toBe('/env');
    const fromFlags = loadConfig({ env, cwd: dir, flags: { port: 3000, authDir: '/flag' } });
    expect(fromFlags.port).toBe(3000);
    expect(fromFlags.authDir).toBe('/flag');
  });

  it('reads every documented env override', () => {
    const c = loadConfig({
      env: {
        CLIPROXY_HOST: '0.0.0.0',
        CLIPROXY_PORT: '8181',
        CLIPROXY_AUTH_DIR: '/a',
        CLIPROXY_API_KEYS: 'key-one-1234, key-two-5678',
        CLIPROXY_CODEX_ISSUER: 'http://127.0.0.1:9/',
        CLIPROXY_CODEX_BASE_URL: 'http://127.0.0.1:9/backend-api/codex',
        CLIPROXY_DEBUG: 'true',
        CLIPROXY_ROUTING_STRATEGY: 'fill-first',
      },
      cwd: tempDir(),
    });
    expect(c.host).toBe('0.0.0.0');
    expect(c.port).toBe(8181);
    expect(c.authDir).toBe('/a');
    expect(c.apiKeys).toEqual(['key-one-1234', 'key-two-5678']);
    expect(c.codex.issuer).toBe('http://127.0.0.1:9');
    expect(c.codex.baseUrl).toBe('http://127.0.0.1:9/backend-api/codex');
    expect(c.debug).toBe(true);
    expect(c.routing.strategy).toBe('fill-first');
  });

  it.each([
    ['port: "eighty"', 'port:'],
    ['port: 70000', 'port:'],
    ['codex:\n  issuer: not a url', 'codex.issuer:'],
    ['routing:\n  strategy: random', 'routing.strategy:'],
    ['prot: 8080', 'unknown key(s): prot'],
    ['api-keys: [short]', 'api-keys.0:'],
    ['port: [1', 'Invalid YAML'],
  ])('rejects %j naming the key path', (yaml, expected) => {
    const dir = tempDir();
    writeConfig(dir, yaml);
    expect(() => loadConfig({ env: {}, cwd: dir })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, cwd: dir })).toThrow(expected);
  });

  it('codex.client-version defaults to the @openai/codex version the tests run (one place: package.json)', () => {
    const installed = (JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../node_modules/@openai/codex/package.json'), 'utf8')) as { version: string }).version;
    expect(codexCliVersion()).toBe(installed);
    const c = loadConfig({ env: {}, cwd: tempDir() });
    expect(c.codex.clientVersion).toBe(installed);
    expect(c.codex.originator).toBe('codex_cli_rs');
    expect(c.codex.reasoningSummary).toBe('auto');
    expect(c.modelEffortSuffixes).toEqual([]);
  });

  it('codex.client-version / reasoning-summary / model-effort-suffixes from the file, client version from the env first', () => {
    const dir = tempDir();
    writeConfig(dir, 'model-effort-suffixes: [high]\ncodex:\n  client-version: 0.170.1\n  reasoning-summary: detailed\n');
    const c = loadConfig({ env: {}, cwd: dir });
    expect(c.codex.clientVersion).toBe('0.170.1');
    expect(c.codex.reasoningSummary).toBe('detailed');
    expect(c.modelEffortSuffixes).toEqual(['high']);
    expect(loadConfig({ env: { CLIPROXY_CODEX_CLIENT_VERSION: '0.171.0' }, cwd: dir }).codex.clientVersion).toBe('0.171.0');
    expect(() => loadConfig({ env: { CLIPROXY_CODEX_CLIENT_VERSION: 'latest' }, cwd: dir })).toThrow(/CLIPROXY_CODEX_CLIENT_VERSION.*X\.Y\.Z/);
    writeConfig(dir, 'codex:\n  client-version: "0.169"\n');
    expect(() => loadConfig({ env: {}, cwd: dir })).toThrow(/codex.client-version/);
    writeConfig(dir, 'codex:\n  reasoning-summary: verbose\n');
    expect(() => loadConfig({ env: {}, cwd: dir })).toThrow(/codex.reasoning-summary/);
  });

  it('rejects bad env values', () => {
    expect(() => loadConfig({ env: { CLIPROXY_PORT: 'x' }, cwd: tempDir() })).toThrow(/CLIPROXY_PORT/);
    expect(() => loadConfig({ env: { CLIPROXY_CODEX_ISSUER: 'nope' }, cwd: tempDir() })).toThrow(/CLIPROXY_CODEX_ISSUER/);
    expect(() => loadConfig({ env: { CLIPROXY_ROUTING_STRATEGY: 'x' }, cwd: tempDir() })).toThrow(/CLIPROXY_ROUTING_STRATEGY/);
  });

  it('store: file by default, postgres needs a URL', () => {
    expect(loadConfig({ env: {}, cwd: tempDir() }).store).toEqual({ type: 'file', postgresUrl: undefined, postgresTable: 'cliproxy_accounts', postgresSchema: 'public' });
    expect(() => loadConfig({ env: { CLIPROXY_STORE: 'postgres' }, cwd: tempDir() })).toThrow(/store.postgres-url/);
    const c = loadConfig({ env: { CLIPROXY_STORE: 'postgres', CLIPROXY_POSTGRES_URL: 'postgres://u@127.0.0.1/db' }, cwd: tempDir() });
    expect(c.store.type).toBe('postgres');
    expect(() => loadConfig({ env: { CLIPROXY_STORE: 'redis' }, cwd: tempDir() })).toThrow(/CLIPROXY_STORE/);
  });

  it('remote-management: off by default; key from the file or CLIPROXY_MANAGEMENT_KEY (env wins); allow-remote', () => {
    expect(loadConfig({ env: {}, cwd: tempDir() }).management).toEqual({ secretKey: null, keyFrom: null, allowRemote: false });
    const dir = tempDir();
    const file = writeConfig(dir, 'remote-management:\n  secret-key: file-key-000001\n  allow-remote: true\n');
    expect(loadConfig({ env: {}, cwd: dir, flags: { config: file } }).management).toEqual({ secretKey: 'file-key-000001', keyFrom: 'file', allowRemote: true });
    expect(loadConfig({ env: { CLIPROXY_MANAGEMENT_KEY: 'env-key-0000001' }, cwd: dir, flags: { config: file } }).management).toMatchObject({ secretKey: 'env-key-0000001', keyFrom: 'env' });
    expect(() => loadConfig({ env: { CLIPROXY_MANAGEMENT_KEY: 'short' }, cwd: dir })).toThrow(/CLIPROXY_MANAGEMENT_KEY: the management key must be at least 8 characters/);
    const bad = writeConfig(dir, 'remote-management:\n  secret-key: short\n', 'bad.yaml');
    expect(() => loadConfig({ env: {}, cwd: dir, flags: { config: bad } })).toThrow(/remote-management.secret-key: the management key must be at least 8 characters/);
  });

  it('claude-models: a model name or {model, effort}; a wrong effort names the key', () => {
    const dir = tempDir();
    writeConfig(dir, 'claude-models:\n  opus: gpt-5\n  claude-x: { model: gpt-5-codex, effort: xhigh }\n');
    expect(loadConfig({ env: {}, cwd: dir }).claudeModels).toEqual({ opus: { model: 'gpt-5' }, 'claude-x': { model: 'gpt-5-codex', effort: 'xhigh' } });
    writeConfig(dir, 'claude-models:\n  opus: { model: gpt-5, effort: extreme }\n');
    expect(() => loadConfig({ env: {}, cwd: dir })).toThrow(/claude-models\.opus/);
  });

  it("CLIProxyAPI's PGSTORE_DSN alone selects postgres; PGSTORE_SCHEMA names the schema", () => {
    const dsn = 'postgres://u@127.0.0.1/db';
    expect(loadConfig({ env: { PGSTORE_DSN: dsn }, cwd: tempDir() }).store).toEqual({ type: 'postgres', postgresUrl: dsn, postgresTable: 'cliproxy_accounts', postgresSchema: 'public' });
    expect(loadConfig({ env: { PGSTORE_DSN: dsn, PGSTORE_SCHEMA: 'team_a' }, cwd: tempDir() }).store.postgresSchema).toBe('team_a');
    // CLIPROXY_POSTGRES_URL wins over PGSTORE_DSN; an explicit file store stays a file store
    expect(loadConfig({ env: { PGSTORE_DSN: dsn, CLIPROXY_POSTGRES_URL: 'postgres://other@127.0.0.1/x' }, cwd: tempDir() }).store.postgresUrl).toBe('postgres://other@127.0.0.1/x');
    expect(loadConfig({ env: { PGSTORE_DSN: dsn, CLIPROXY_STORE: 'file' }, cwd: tempDir() }).store.type).toBe('file');
    const dir = tempDir();
    const file = writeConfig(dir, 'store:\n  postgres-schema: from_file\n  encryption-key: a passphrase of some length\n');
    const c = loadConfig({ env: { PGSTORE_DSN: dsn }, cwd: dir, flags: { config: file } });
    expect(c.store).toMatchObject({ type: 'postgres', postgresSchema: 'from_file', encryptionKey: 'a passphrase of some length' });
    expect(loadConfig({ env: { PGSTORE_DSN: dsn, CLIPROXY_STORE_KEY: 'env key wins over the file' }, cwd: dir, flags: { config: file } }).store.encryptionKey).toBe('env key wins over the file');
    expect(() => loadConfig({ env: { PGSTORE_DSN: dsn, PGSTORE_SCHEMA: 'Bad-Name' }, cwd: tempDir() })).toThrow(/PGSTORE_SCHEMA/);
  });

  it('a missing explicit config file is an error', () => {
    expect(() => loadConfig({ env: {}, cwd: tempDir(), flags: { config: 'nope.yaml' } })).toThrow(/Config file not found/);
  });

  it('config.example.yaml is valid and documents every key', async () => {
    const example = path.resolve(import.meta.dirname, '../../config.example.yaml');
    const c = loadConfig({ env: {}, cwd: tempDir(), flags: { config: example } });
    expect(c.modelAliases['gpt-4-code']).toBeDefined();
    expect(c.claudeModels['haiku']).toEqual({ model: 'gpt-5.1-codex-mini', effort: 'low' });
    const text = readFileSync(example, 'utf8');
    for (const key of ['host', 'port', 'auth-dir', 'api-keys', 'debug', 'max-body-mb', 'request-retry', 'model-aliases', 'claude-models', 'models-cache-seconds', 'model-effort-suffixes', 'issuer', 'base-url', 'client-id', 'originator', 'client-version', 'reasoning-summary', 'request-timeout-seconds', 'strategy', 'session-affinity', 'session-affinity-ttl-seconds', 'transient-seconds', 'max-backoff-seconds', 'lead-seconds', 'type', 'postgres-url', 'postgres-table', 'postgres-schema', 'encryption-key', 'secret-key', 'allow-remote']) {
      expect(text, key).toMatch(new RegExp(`^\\s*#?\\s*${key}:`, 'm'));
    }
  });

  it('an invalid config file makes a command exit non-zero with the key path', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, 'port: -1\n');
    const ctx = captureContext({ cwd: dir });
    const code = await main(['status', '--config', file], ctx);
    expect(code).not.toBe(0);
    expect(ctx.err()).toContain('port:');
  });
});

describe('config errors do not quote secrets', () => {
  it('a YAML syntax error names the line and column but not the source lines', () => {
    const dir = tempDir();
    writeConfig(dir, 'api-keys: ["sk-secret-key-12345"\npostgres-url: postgres://user:hunter2pass@db/x\nport: 1\n');
    let message = '';
    try {
      loadConfig({ env: {}, cwd: dir });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^Invalid YAML in .*config\.yaml: .*line \d+, column \d+/);
    expect(message).not.toContain('sk-secret-key-12345');
    expect(message).not.toContain('hunter2pass');
    expect(message.split('\n')).toHaveLength(1);
  });

  it('environment URLs go through the same check as the file (trailing slashes removed)', () => {
    expect(loadConfig({ env: { CLIPROXY_CODEX_ISSUER: 'http://127.0.0.1:9///' }, cwd: tempDir() }).codex.issuer).toBe('http://127.0.0.1:9');
    expect(() => loadConfig({ env: { CLIPROXY_CODEX_BASE_URL: 'not a url' }, cwd: tempDir() })).toThrow(/CLIPROXY_CODEX_BASE_URL: expected a URL/);
  });
});
