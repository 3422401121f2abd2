import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startSpinner } from '../../src/auth/spinner.js';

/** A stream that records each write; `isTTY` as given. */
function terminal(isTTY: boolean): Writable & { isTTY: boolean; writes: string[] } {
  const writes: string[] = [];
  const out = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      writes.push(chunk.toString());
      cb();
    },
  });
  return Object.assign(out, { isTTY, writes });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('startSpinner', () => {
  it('on a TTY: draws a frame, redraws it in place with \\r on every tick, and stop() clears the line', () => {
    vi.useFakeTimers();
    const out = terminal(true);
    const spinner = startSpinner(out, 'Waiting for sign-in', 100);
    expect(out.writes).toEqual(['⠋ Waiting for sign-in']);

    vi.advanceTimersByTime(100);
    expect(out.writes[1]).toBe('\r⠙ Waiting for sign-in');
    vi.advanceTimersByTime(200);
    expect(out.writes.slice(2)).toEqual(['\r⠹ Waiting for sign-in', '\r⠸ Waiting for sign-in']);
    // the frames cycle: after ten ticks the first frame is back
    vi.advanceTimersByTime(700);
    expect(out.writes[10]).toBe('\r⠋ Waiting for sign-in');
    expect(out.writes.slice(1).every((w) => w.startsWith('\r') && !w.includes('\n'))).toBe(true);

    spinner.stop('Signed in as alice@example.com');
    const last = out.writes.at(-1)!;
    expect(last).toBe('\r\x1b[2KSigned in as alice@example.com\n');
    const count = out.writes.length;
    vi.advanceTimersByTime(1000);
    expect(out.writes).toHaveLength(count); // no frames after stop
    spinner.stop('again');
    expect(out.writes).toHaveLength(count); // stop is idempotent
  });

  it('stop() without a text clears the line and prints the original text', () => {
    vi.useFakeTimers();
    const out = terminal(true);
    startSpinner(out, 'Working', 50).stop();
    expect(out.writes).toEqual(['⠋ Working', '\r\x1b[2KWorking\n']);
  });

  it('off a TTY: one plain line, no frames, no control characters, nothing on stop', () => {
    vi.useFakeTimers();
    const out = terminal(false);
    const spinner = startSpinner(out, 'Waiting for sign-in', 100);
    vi.advanceTimersByTime(1000);
    spinner.stop('Signed in');
    expect(out.writes).toEqual(['Waiting for sign-in\n']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
