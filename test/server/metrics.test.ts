import { describe, expect, it } from 'vitest';
import { accountLabel, cachedAccountLabel } from '../../src/server/metrics.js';

describe('account labels', () => {
  it('are 8 hex of sha256, never the id itself', () => {
    expect(accountLabel('acc-123')).toMatch(/^[0-9a-f]{8}$/);
    expect(accountLabel('acc-123')).not.toContain('acc');
  });

  it('cachedAccountLabel gives the same labels as accountLabel, and stays bounded', () => {
    const label = cachedAccountLabel(2);
    for (const id of ['a', 'b', 'a', 'c', 'd', 'a']) expect(label(id)).toBe(accountLabel(id));
  });
});
