import { describe, expect, it } from 'vitest';
import { RequestLogBuffer, type RequestLogLine } from '../../src/server/request-log.js';

function line(n: number): RequestLogLine {
  return { time: `t${n}`, method: 'POST', route: '/v1/responses', url: '/v1/responses', status: 200, latencyMs: n, ttfbMs: null, model: null, account: null, tokensIn: null, tokensOut: null, retries: 0 };
}

describe('RequestLogBuffer', () => {
  it('keeps the last `capacity` lines, oldest first, however many went through', () => {
    const buf = new RequestLogBuffer(3);
    expect(buf.tail(5)).toEqual([]);
    for (let n = 1; n <= 2; n++) buf.push(line(n));
    expect(buf.tail(5).map((l) => l.latencyMs)).toEqual([1, 2]);
    for (let n = 3; n <= 7; n++) buf.push(line(n));
    expect(buf.tail(5).map((l) => l.latencyMs)).toEqual([5, 6, 7]);
    expect(buf.tail(2).map((l) => l.latencyMs)).toEqual([6, 7]);
    expect(buf.tail(0)).toEqual([]);
    buf.push(line(8));
    buf.push(line(9));
    expect(buf.tail(3).map((l) => l.latencyMs)).toEqual([7, 8, 9]);
  });

  it('a capacity of 0 keeps nothing', () => {
    const buf = new RequestLogBuffer(0);
    buf.push(line(1));
    expect(buf.tail(1)).toEqual([]);
  });
});
