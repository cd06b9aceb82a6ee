import { performance } from 'perf_hooks';
import * as v8 from 'v8';
import * as vm from 'vm';

/** Median, spread and raw samples of several timed runs, in milliseconds. */
export interface Timing {
  readonly runs: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly samplesMs: number[];
}

export function summarize(samplesMs: number[]): Timing {
  if (samplesMs.length === 0) throw new Error('no samples');
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return {
    runs: samplesMs.length,
    medianMs: round(median),
    minMs: round(sorted[0]),
    maxMs: round(sorted[sorted.length - 1]),
    samplesMs: samplesMs.map(round),
  };
}

/** Time a synchronous function once. */
export function timeOnce(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/** Give the process a chance to collect garbage between runs, so one run does not pay for the last. */
export function collectGarbage(): void {
  gc?.();
}

/** `gc()` without starting node with --expose-gc (the projen task runs plain ts-node). */
const gc: (() => void) | undefined = (() => {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();

export function round(ms: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(ms * f) / f;
}

export function seconds(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`;
}

export function formatTiming(t: Timing): string {
  return `${seconds(t.medianMs)} (${seconds(t.minMs)}–${seconds(t.maxMs)}, n=${t.runs})`;
}

export function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export function pct(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(1)}%`;
}
