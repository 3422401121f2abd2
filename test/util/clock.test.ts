import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock, MAX_TIMER_MS, systemClock } from '../../src/util/clock.js';

describe('systemClock.schedule', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits for delays longer than setTimeout can hold (2^31-1 ms) instead of firing at once', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    systemClock.schedule(MAX_TIMER_MS * 2 + 10, fn);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(10);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('cancels a chained long timer', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const cancel = systemClock.schedule(MAX_TIMER_MS + 5, fn);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    cancel();
    vi.advanceTimersByTime(10);
    expect(fn).not.toHaveBeenCalled();
  });

  it('sleep rejects with the abort reason', async () => {
    const ac = new AbortController();
    const p = systemClock.sleep(10_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });
});

describe('ManualClock', () => {
  it('fires timers in deadline order as time advances', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.schedule(30, () => fired.push('c'));
    clock.schedule(10, () => fired.push('a'));
    clock.schedule(20, () => fired.push('b'));
    await clock.advance(15);
    expect(fired).toEqual(['a']);
    expect(clock.now()).toBe(15);
    await clock.advance(100);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('sleep resolves when time reaches it and can be aborted', async () => {
    const clock = new ManualClock(0);
    let done = false;
    void clock.sleep(50).then(() => (done = true));
    await clock.advance(49);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(done).toBe(true);
    const ac = new AbortController();
    const p = clock.sleep(10, ac.signal);
    ac.abort();
    await expect(p).rejects.toThrow(/aborted/);
  });
});
