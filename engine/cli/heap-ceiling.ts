import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Keeps a command's heap within `headroomBytes` of what it still holds: a full collection whenever the
 * heap has grown by more than that since the last one. The command checks between the pieces it writes.
 *
 * Why: `baton generate` holds little (~85 MB at 30,000 processors: the resolved pipeline and the deploy
 * model) but promotes far more short-lived garbage to the old generation (each file's view while it
 * renders, processors.md's barrier examples), and V8 lets the heap grow to about four times what it
 * found alive at its last full collection before it collects again, so the process peaked at 450–560 MB.
 * A full collection of ~85 MB alive is cheap (~60–100 ms), and few are needed.
 *
 * Measured at 30,000 processors (bench/synthetic-pipeline.ts, 2 shared cores; two sets of three runs
 * each, alternated with and without): peak RSS 493 → 289 MB and 450 → 284 MB; CPU 4.80 → 4.79 s and
 * 4.82 → 5.05 s (0–5 %: it asks for two full collections of its own).
 * Compared, and not chosen: `--heap-growing-percent=70` 406 MB at +20% CPU, `=60` 386 MB at +26%;
 * `--max-old-space-size=1024` ~380 MB at +4–13% (and settable only at start-up).
 */
export class HeapCeiling {
  private readonly collect: (() => void) | undefined;
  private floor: number;

  constructor(private readonly headroomBytes: number) {
    // The one way to ask V8 for a full collection without starting Node with --expose-gc: the flag
    // installs `gc` in contexts created after it is set. Should a Node release not honour it, the
    // ceiling does nothing and the command runs as it would without it.
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
    this.collect = typeof gc === 'function' ? (gc as () => void) : undefined;
    this.floor = usedHeap();
  }

  /** False when this Node did not expose a collector: the ceiling then does nothing. */
  get collects(): boolean {
    return this.collect !== undefined;
  }

  /** A full collection now if the heap grew by more than the headroom since the last one. */
  check(): void {
    if (this.collect === undefined || usedHeap() - this.floor < this.headroomBytes) return;
    this.collect();
    this.floor = usedHeap();
  }
}

function usedHeap(): number {
  return getHeapStatistics().used_heap_size;
}
