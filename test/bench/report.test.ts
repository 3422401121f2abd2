/**
 * The bench report's comparisons within rounds: a cell's figures are its median round, which
 * need not be the same round for two paths, so ratios and added latencies are taken round by
 * round (the paths of one round run back to back) and their median reported.
 */
import { describe, expect, it } from 'vitest';
import { addedMs, rpsRatio, type Cell } from '../../bench/report.js';

/** A cell measured in `rounds`; its own figures are those of round `medianRound` (the path's median round). */
function cell(path: Cell['path'], rounds: { rps: number; p50: number; ttfb: number }[], medianRound = 0): Cell {
  const median = rounds[medianRound]!;
  return {
    path,
    tokens: 200,
    concurrency: 1,
    requests: 1000,
    errors: 0,
    rps: median.rps,
    latency: { p50: median.p50, p99: median.p50 * 3, mean: median.p50 },
    ttfb: { p50: median.ttfb, p99: median.ttfb * 3 },
    roundsRps: rounds.map((r) => r.rps),
    roundsP50: rounds.map((r) => r.p50),
    roundsTtfbP50: rounds.map((r) => r.ttfb),
  };
}

describe('bench report: added latency', () => {
  // session 7's run: the machine slowed down in round 4 (direct 1.35 ms); the two median rounds are rounds 1 and 5
  const direct = cell('direct', [
    { rps: 937, p50: 0.96, ttfb: 0.93 },
    { rps: 912, p50: 0.97, ttfb: 0.94 },
    { rps: 972, p50: 0.92, ttfb: 0.89 },
    { rps: 730, p50: 1.35, ttfb: 1.32 },
    { rps: 934, p50: 0.94, ttfb: 0.91 },
  ], 4);
  const responses = cell('responses', [
    { rps: 596, p50: 1.61, ttfb: 1.58 },
    { rps: 671, p50: 1.31, ttfb: 1.28 },
    { rps: 561, p50: 1.62, ttfb: 1.59 },
    { rps: 528, p50: 1.75, ttfb: 1.71 },
    { rps: 629, p50: 1.39, ttfb: 1.36 },
  ]);

  it('is the median of the rounds’ differences, not the difference of two different rounds', () => {
    // differences by round: 0.65, 0.34, 0.70, 0.40, 0.45
    expect(addedMs(responses, direct, 'p50')).toBeCloseTo(0.45, 10);
    expect(addedMs(responses, direct, 'ttfb')).toBeCloseTo(0.45, 10);
    // what the cells' own figures (rounds 1 and 5) give
    expect(responses.latency.p50 - direct.latency.p50).toBeCloseTo(0.67, 10);
  });

  it('falls back to the plain difference without rounds (one round, or results from before they were kept)', () => {
    const { roundsP50: _p, roundsTtfbP50: _t, ...old } = responses;
    expect(addedMs(old, direct, 'p50')).toBeCloseTo(0.67, 10);
    expect(addedMs(cell('chat', [{ rps: 1, p50: 2, ttfb: 1.5 }]), cell('direct', [{ rps: 1, p50: 1, ttfb: 1 }]), 'ttfb')).toBeCloseTo(0.5, 10);
  });

  it('ratios are taken round by round the same way', () => {
    // ratios by round: 0.636, 0.736, 0.577, 0.723, 0.673 → median 0.673
    expect(rpsRatio(responses, direct)).toBeCloseTo(629 / 934, 10);
  });
});
