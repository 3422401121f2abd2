import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../src/util/keyed-mutex.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('KeyedMutex', () => {
  it('runs calls for one key one at a time, in call order', async () => {
    const m = new KeyedMutex();
    const order: string[] = [];
    let inside = 0;
    let maxInside = 0;
    const work = (name: string) =>
      m.run('a', async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        order.push(`${name}:in`);
        await tick();
        order.push(`${name}:out`);
        inside--;
        return name;
      });
    await expect(Promise.all([work('1'), work('2'), work('3')])).resolves.toEqual(['1', '2', '3']);
    expect(maxInside).toBe(1);
    expect(order).toEqual(['1:in', '1:out', '2:in', '2:out', '3:in', '3:out']);
    expect(m.size()).toBe(0);
  });

  it('does not make different keys wait for each other', async () => {
    const m = new KeyedMutex();
    let releaseA!: () => void;
    const a = m.run('a', () => new Promise<string>((r) => (releaseA = () => r('a'))));
    await expect(m.run('b', async () => 'b')).resolves.toBe('b');
    releaseA();
    await expect(a).resolves.toBe('a');
  });

  it('releases the key when fn throws', async () => {
    const m = new KeyedMutex();
    const failing = m.run('a', async () => {
      await tick();
      throw new Error('boom');
    });
    const next = m.run('a', async () => 'after');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('after');
    expect(m.size()).toBe(0);
  });
});
