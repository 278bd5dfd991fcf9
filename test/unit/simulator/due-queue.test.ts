import { describe, expect, it } from 'vitest';
import { DueQueue } from '../../../engine/simulator/due-queue.ts';

describe('DueQueue', () => {
  it('hands out items earliest first, and items due at the same time in the order they were put in', () => {
    const queue = new DueQueue<string>();
    for (const [at, item] of [
      [30, 'c'],
      [10, 'a1'],
      [20, 'b'],
      [10, 'a2'],
      [40, 'd'],
      [10, 'a3'],
    ] as const)
      queue.push(at, item);
    expect(queue.peekAt()).toBe(10);
    expect(queue.popDue(20)).toEqual(['a1', 'a2', 'a3', 'b']);
    expect(queue.size).toBe(2);
    expect(queue.popDue(29)).toEqual([]);
    expect([queue.pop(), queue.pop(), queue.pop()]).toEqual(['c', 'd', undefined]);
  });
});
