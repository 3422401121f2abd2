import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ActiveStreams } from '../../src/server/active-streams.js';
import { ManualClock } from '../../src/util/clock.js';

/** A response stand-in: finishes when told to. */
function fakeResponse(): ServerResponse & { finish(): void } {
  const res = new EventEmitter() as EventEmitter & { writableFinished: boolean; destroyed: boolean; finish(): void };
  res.writableFinished = false;
  res.destroyed = false;
  res.finish = () => {
    res.writableFinished = true;
    res.emit('finish');
  };
  return res as unknown as ServerResponse & { finish(): void };
}

/** A stream stand-in that counts stop() calls and may finish its response when stopped. */
function stoppable(onStop: () => void = () => undefined): { stop(): void; stops: number } {
  const s = {
    stops: 0,
    stop() {
      s.stops++;
      onStop();
    },
  };
  return s;
}

describe('ActiveStreams', () => {
  it('counts a stream until its response finishes', async () => {
    let gauge = 0;
    const streams = new ActiveStreams({ inc: () => gauge++, dec: () => gauge-- });
    const res = fakeResponse();
    streams.track(res, stoppable());
    expect(gauge).toBe(1);
    expect(streams.size).toBe(1);
    res.finish();
    await new Promise((r) => setImmediate(r));
    expect(gauge).toBe(0);
    expect(streams.size).toBe(0);
  });

  it('endAll stops every stream (its ending, then the end) and waits for the responses to finish', async () => {
    const clock = new ManualClock();
    const streams = new ActiveStreams();
    const res = fakeResponse();
    const s = stoppable(() => setImmediate(() => res.finish()));
    streams.track(res, s);
    await streams.endAll(1000, clock);
    expect(s.stops).toBe(1);
    expect(res.writableFinished).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(streams.size).toBe(0);
  });

  it('endAll gives up after the timeout when a response never finishes', async () => {
    const clock = new ManualClock();
    const streams = new ActiveStreams();
    streams.track(fakeResponse(), stoppable());
    let resolved = false;
    const ending = streams.endAll(1000, clock).then(() => (resolved = true));
    await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);
    await clock.advance(1000);
    await ending;
    expect(resolved).toBe(true);
  });

  it('a stream that starts after the shutdown began is stopped at once', async () => {
    const streams = new ActiveStreams();
    await streams.endAll(1000, new ManualClock());
    const s = stoppable();
    streams.track(fakeResponse(), s);
    expect(s.stops).toBe(1);
  });
});
