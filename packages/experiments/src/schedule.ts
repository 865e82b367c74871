/** Learning-rate schedules, as functions of the 0-based epoch. */

export type Schedule = (epoch: number) => number;

/**
 * Multiply by `gamma` at each milestone (PyTorch MultiStepLR, milestones in epochs). PNN (Klachko)
 * passes epoch+1: lr·0.2^[ep ≥ 60]·… ; pass `offset: 1` for that.
 */
export function multiStep(base: number, milestones: number[], gamma: number, offset = 0): Schedule {
  return (epoch) => base * gamma ** milestones.filter((m) => epoch + offset >= m).length;
}

/**
 * Cosine decay from `base` to `floor` over `epochs`, after `warmup` epochs of linear warm-up
 * from base/warmup.
 */
export function cosine(base: number, epochs: number, opts: { warmup?: number; floor?: number } = {}): Schedule {
  const warmup = opts.warmup ?? 0;
  const floor = opts.floor ?? 0;
  return (epoch) => {
    if (epoch < warmup) return (base * (epoch + 1)) / warmup;
    const t = Math.min(1, (epoch - warmup) / Math.max(1, epochs - warmup));
    return floor + 0.5 * (base - floor) * (1 + Math.cos(Math.PI * t));
  };
}

export function constant(base: number): Schedule {
  return () => base;
}
