/**
 * ConfigReloader and the config diff without a server: what is live, what waits for a restart,
 * and the host rule (no removing every API key while listening beyond loopback).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffConfig, withLiveKeys } from '../../src/config/live.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config, ConfigFile } from '../../src/config/schema.js';
import { ConfigReloader } from '../../src/server/config-reload.js';
import { ManagementKeyVerifier } from '../../src/server/management/key.js';
import { ManualClock } from '../../src/util/clock.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cliproxy-reload-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configWith(text: string): { file: string; load: (c?: ConfigFile) => Config } {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return { file, load: (fileContent) => loadConfig({ flags: { config: file }, env: {}, cwd: dir, fileContent }) };
}

function reloader(load: (c?: ConfigFile) => Config) {
  const applied: Config[] = [];
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  const log = {
    info: (obj: object, msg?: string) => lines.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg?: string) => lines.push({ level: 'warn', obj, msg }),
    error: (obj: object, msg?: string) => lines.push({ level: 'error', obj, msg }),
  };
  const r = new ConfigReloader({ source: { load }, running: load(), apply: (c) => applied.push(c), log, clock: new ManualClock() });
  return { r, applied, lines };
}

describe('diffConfig', () => {
  it('separates live keys from restart-only keys; withLiveKeys keeps the running values of the latter', () => {
    const a = configWith('port: 1000\napi-keys: [key-aaaa-0001]\n').load();
    const b = configWith('port: 2000\napi-keys: [key-bbbb-0002]\nrequest-retry: 1\nclaude-models:\n  claude-x: gpt-5\nstore:\n  postgres-table: other\n').load();
    expect(diffConfig(a, b)).toEqual({ live: ['apiKeys', 'claudeModels', 'requestRetry'], restart: ['port', 'store'] });
    const merged = withLiveKeys(a, b);
    expect([merged.port, merged.apiKeys, merged.requestRetry, merged.store.postgresTable]).toEqual([1000, ['key-bbbb-0002'], 1, 'cliproxy_accounts']);
  });
});

describe('ConfigReloader', () => {
  it('refuses to drop every API key while the server listens beyond loopback', async () => {
    const { file, load } = configWith('host: 0.0.0.0\napi-keys: [key-aaaa-0001]\n');
    const { r, applied, lines } = reloader(load);
    writeFileSync(file, 'host: 0.0.0.0\napi-keys: []\n');
    expect(r.reload()).toMatchObject({ ok: false, issues: [{ key: 'api-keys', reason: 'cannot remove every key while the server listens on 0.0.0.0' }] });
    expect(applied).toEqual([]);
    expect(lines.map((l) => l.level)).toEqual(['error']);
    await expect(r.replaceFile({ host: '0.0.0.0', 'api-keys': [] })).rejects.toThrow(/cannot remove every key/);
    expect(r.current().apiKeys).toEqual(['key-aaaa-0001']);
  });

  it('an unchanged file is applied as nothing and logs nothing', () => {
    const { file, load } = configWith('api-keys: [key-aaaa-0001]\n');
    const { r, applied, lines } = reloader(load);
    writeFileSync(file, 'api-keys: [key-aaaa-0001]\n');
    expect(r.reload()).toEqual({ ok: true, applied: [], restartRequired: [] });
    expect([applied, lines]).toEqual([[], []]);
  });
});

describe('ManagementKeyVerifier', () => {
  it('refuses a stored hash with out-of-range scrypt parameters', async () => {
    await expect(ManagementKeyVerifier.fromConfigured(`scrypt$3$8$1$${'A'.repeat(22)}$${'B'.repeat(43)}`)).rejects.toThrow(/out of range/);
    await expect(ManagementKeyVerifier.fromConfigured(`scrypt$2097152$8$1$${'A'.repeat(22)}$${'B'.repeat(43)}`)).rejects.toThrow(/out of range/);
  });
});
