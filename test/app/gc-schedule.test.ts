/**
 * The server's garbage-collection schedule: which V8 flags `serve` sets, when it leaves them to
 * the user, and that this Node's V8 knows them (a Node whose V8 dropped them would lose the
 * tuning without a word: this test says so instead).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SERVER_GC_FLAGS, serverGcFlags } from '../../src/app/gc-schedule.js';
import { ConfigError } from '../../src/config/load.js';

describe('serverGcFlags', () => {
  it('sets the marking triggers by default, and with CLIPROXY_GC_TUNING=on', () => {
    expect(serverGcFlags({}, [])).toEqual(['--incremental-marking-soft-trigger=70', '--incremental-marking-hard-trigger=90']);
    expect(serverGcFlags({ CLIPROXY_GC_TUNING: 'on' }, [])).toBe(SERVER_GC_FLAGS);
    expect(serverGcFlags({ CLIPROXY_GC_TUNING: ' ON ' }, [])).toBe(SERVER_GC_FLAGS);
  });

  it('sets nothing with CLIPROXY_GC_TUNING=off', () => {
    expect(serverGcFlags({ CLIPROXY_GC_TUNING: 'off' }, [])).toEqual([]);
    expect(serverGcFlags({ CLIPROXY_GC_TUNING: 'Off' }, [])).toEqual([]);
  });

  it('refuses any other CLIPROXY_GC_TUNING value, naming it', () => {
    expect(() => serverGcFlags({ CLIPROXY_GC_TUNING: 'of' }, [])).toThrow(ConfigError);
    expect(() => serverGcFlags({ CLIPROXY_GC_TUNING: 'of' }, [])).toThrow('CLIPROXY_GC_TUNING: expected on or off, got "of"');
  });

  it("leaves the schedule to the user who set a trigger of their own, in node's flags or NODE_OPTIONS (either spelling)", () => {
    expect(serverGcFlags({}, ['--incremental-marking-soft-trigger=50'])).toEqual([]);
    expect(serverGcFlags({}, ['--max-old-space-size=512', '--incremental_marking_hard_trigger=95'])).toEqual([]);
    expect(serverGcFlags({ NODE_OPTIONS: '--max-old-space-size=512 --incremental-marking-soft-trigger=60' }, [])).toEqual([]);
    // other V8 flags are no reason to leave it
    expect(serverGcFlags({ NODE_OPTIONS: '--max-old-space-size=512' }, ['--max-semi-space-size=8'])).toBe(SERVER_GC_FLAGS);
  });

  it("are flags this Node's V8 knows: set at run time, they print no complaint", () => {
    const script = `const v8 = require('node:v8'); for (const f of ${JSON.stringify(SERVER_GC_FLAGS)}) v8.setFlagsFromString(f); v8.setFlagsFromString('--no-such-flag-for-the-test');`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    // the made-up flag shows that a complaint would be seen here
    expect(r.stderr).toContain('unrecognized flag --no-such-flag-for-the-test');
    expect(r.stderr).not.toMatch(/incremental/);
  });
});
