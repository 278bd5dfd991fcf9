/**
 * A priority queue of items by due time: a binary min-heap ordered by time, then by insertion order, so
 * items due at the same instant come out in the order they were put in. Push and pop cost O(log n), so
 * a run loop pays for what is due, not for everything that is waiting.
 */
export class DueQueue<T> {
  private readonly heap: { at: number; seq: number; item: T }[] = [];
  private seq = 0;

  /** How many items wait. */
  get size(): number {
    return this.heap.length;
  }

  /** Adds `item`, due at `at`. */
  push(at: number, item: T): void {
    const heap = this.heap;
    heap.push({ at, seq: this.seq++, item });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** When the first item is due; undefined when none waits. */
  peekAt(): number | undefined {
    return this.heap[0]?.at;
  }

  /** The first item, without taking it. */
  peek(): T | undefined {
    return this.heap[0]?.item;
  }

  /** Takes the first item; undefined when none waits. */
  pop(): T | undefined {
    const heap = this.heap;
    const first = heap[0];
    const last = heap.pop();
    if (first === undefined || last === undefined) return undefined;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.before(left, smallest)) smallest = left;
        if (right < heap.length && this.before(right, smallest)) smallest = right;
        if (smallest === i) break;
        this.swap(i, smallest);
        i = smallest;
      }
    }
    return first.item;
  }

  /** Takes every item due at or before `time`, earliest first (same time: in insertion order). */
  popDue(time: number): T[] {
    const due: T[] = [];
    for (let at = this.peekAt(); at !== undefined && at <= time; at = this.peekAt()) due.push(this.pop() as T);
    return due;
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a];
    const y = this.heap[b];
    if (x === undefined || y === undefined) return false;
    return x.at !== y.at ? x.at < y.at : x.seq < y.seq;
  }

  private swap(a: number, b: number): void {
    const heap = this.heap;
    const x = heap[a];
    const y = heap[b];
    if (x === undefined || y === undefined) return;
    heap[a] = y;
    heap[b] = x;
  }
}
