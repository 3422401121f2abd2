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

/** A source that yields `first` and then waits until `release()` before yielding 'late'. */
function pausedSource(first: string): { source: AsyncGenerator<string>; release(): void; cleanedUp: () => boolean } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let cleaned = false;
  async function* gen(): AsyncGenerator<string> {
    try {
      yield first;
      await gate;
      yield 'late';
    } finally {
      cleaned = true;
    }
  }
  return { source: gen(), release, cleanedUp: () => cleaned };
}

describe('ActiveStreams', () => {
  it('passes items through and counts the stream while it runs', async () => {
    let gauge = 0;
    const streams = new ActiveStreams({ inc: () => gauge++, dec: () => gauge-- });
    const out: string[] = [];
    const it = streams.track(fakeResponse(), (async function* () {
      yield 'a';
      yield 'b';
    })(), { ending: () => ['end'], onShutdown: () => undefined });
    for await (const x of it) {
      out.push(x);
      expect(gauge).toBe(1);
      expect(streams.size).toBe(1);
    }
    expect(out).toEqual(['a', 'b']);
    expect(gauge).toBe(0);
    expect(streams.size).toBe(0);
  });

  it('endAll makes a waiting stream send its ending, cancels the source and waits for the response to finish', async () => {
    const clock = new ManualClock();
    const streams = new ActiveStreams();
    const res = fakeResponse();
    const src = pausedSource('first');
    let shutdownCalls = 0;
    const tracked = streams.track(res, src.source, {
      ending: () => ['error', '[DONE]'],
      onShutdown: () => {
        shutdownCalls++;
        src.release(); // what aborting the upstream does: the pending read settles
      },
    });
    const received: string[] = [];
    const reading = (async () => {
      for await (const x of tracked) received.push(x);
      res.finish();
    })();
    await new Promise((r) => setImmediate(r));
    expect(received).toEqual(['first']);
    await streams.endAll(1000, clock);
    await reading;
    expect(received).toEqual(['first', 'error', '[DONE]']);
    expect(shutdownCalls).toBe(1);
    expect(streams.size).toBe(0);
  });

  it('endAll gives up after the timeout when a response never finishes', async () => {
    const clock = new ManualClock();
    const streams = new ActiveStreams();
    const src = pausedSource('first');
    const tracked = streams.track(fakeResponse(), src.source, { ending: () => ['error'], onShutdown: () => src.release() });
    void (async () => {
      for await (const x of tracked) void x; // the response is never finished
    })();
    await new Promise((r) => setImmediate(r));
    let resolved = false;
    const ending = streams.endAll(1000, clock).then(() => (resolved = true));
    await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);
    await clock.advance(1000);
    await ending;
    expect(resolved).toBe(true);
  });

  it('a stream that starts after the shutdown began ends at once with its ending', async () => {
    const streams = new ActiveStreams();
    await streams.endAll(1000, new ManualClock());
    const src = pausedSource('never sent');
    const out: string[] = [];
    for await (const x of streams.track(fakeResponse(), src.source, { ending: () => ['error'], onShutdown: () => src.release() })) out.push(x);
    expect(out).toEqual(['error']);
  });
});
