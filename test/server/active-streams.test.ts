import { EventEmitter } from 'node:events';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { ActiveStreams } from '../../src/server/active-streams.js';
import { ManualClock } from '../../src/util/clock.js';

/** A response stand-in: finishes when told to, then closes on the next tick (as a ServerResponse does). */
function fakeResponse(): ServerResponse & { finish(): void } {
  const res = new EventEmitter() as EventEmitter & { writableFinished: boolean; destroyed: boolean; closed: boolean; finish(): void };
  res.writableFinished = false;
  res.destroyed = false;
  res.closed = false;
  res.finish = () => {
    res.writableFinished = true;
    res.emit('finish');
    process.nextTick(() => {
      res.closed = true;
      res.destroyed = true;
      res.emit('close');
    });
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

  it('with real responses: counted until each closes, whether it ended or its client went away; one shared listener', async () => {
    let gauge = 0;
    const streams = new ActiveStreams({ inc: () => gauge++, dec: () => gauge-- });
    const responses: ServerResponse[] = [];
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      streams.track(res, stoppable());
      responses.push(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const left = new AbortController();
      const first = await fetch(url, { signal: left.signal });
      const second = await fetch(url);
      expect(gauge).toBe(2);
      const [a, b] = responses as [ServerResponse, ServerResponse];
      expect(a.listeners('close')[0]).toBe(b.listeners('close')[0]);
      left.abort();
      await first.body?.cancel().catch(() => undefined);
      await vi.waitFor(() => expect(gauge).toBe(1));
      b.end('data: 2\n\n');
      expect(await second.text()).toBe('data: 1\n\ndata: 2\n\n');
      await vi.waitFor(() => expect(gauge).toBe(0));
      expect(streams.size).toBe(0);
      // a response that closed already is not tracked
      streams.track(a, stoppable());
      expect(streams.size).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('a stream that starts after the shutdown began is stopped at once', async () => {
    const streams = new ActiveStreams();
    await streams.endAll(1000, new ManualClock());
    const s = stoppable();
    streams.track(fakeResponse(), s);
    expect(s.stops).toBe(1);
  });
});
