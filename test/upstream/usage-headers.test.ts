import { describe, expect, it } from 'vitest';
import { parseUsageHeaders } from '../../src/upstream/usage-headers.js';

describe('parseUsageHeaders', () => {
  const cases: [string, Record<string, string | string[]> | Headers, number | undefined, unknown][] = [
    ['all headers', {
      'x-codex-primary-used-percent': '42.5',
      'x-codex-primary-window-minutes': '300',
      'x-codex-primary-reset-at': '1700000000',
      'x-codex-primary-reset-after-seconds': '120',
      'x-codex-secondary-used-percent': '7',
      'x-codex-secondary-window-minutes': '10080',
      'x-codex-secondary-reset-at': '1700600000',
      'x-codex-secondary-reset-after-seconds': '600000',
    }, 1, {
      primary: { usedPercent: 42.5, windowMinutes: 300, resetAt: 1_700_000_000_000, resetAfterSeconds: 120 },
      secondary: { usedPercent: 7, windowMinutes: 10080, resetAt: 1_700_600_000_000, resetAfterSeconds: 600000 },
    }],
    ['reset-after only → now + after', { 'x-codex-primary-reset-after-seconds': '90' }, 1_000_000, { primary: { resetAt: 1_090_000, resetAfterSeconds: 90 } }],
    ['reset-after only without now → no resetAt', { 'x-codex-primary-reset-after-seconds': '90' }, undefined, { primary: { resetAfterSeconds: 90 } }],
    ['none', { 'content-type': 'text/event-stream' }, 5, {}],
    ['garbage is ignored', { 'x-codex-primary-used-percent': 'lots', 'x-codex-primary-window-minutes': '' }, 5, {}],
    ['mixed-case keys and arrays', { 'X-Codex-Primary-Used-Percent': ['100', '99'] }, 5, { primary: { usedPercent: 100 } }],
    ['a Headers object', new Headers({ 'x-codex-secondary-used-percent': '3' }), 5, { secondary: { usedPercent: 3 } }],
  ];
  it.each(cases)('%s', (_name, headers, now, expected) => {
    expect(parseUsageHeaders(headers, now)).toEqual(expected);
  });
});
