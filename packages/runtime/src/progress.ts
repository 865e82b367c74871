/**
 * Progress for long loops. On a TTY (and not in CI) one status line is redrawn at most every 200 ms:
 * label, epoch, step, loss, rate, ETA. Otherwise (pipes, log files, CI) one line per epoch.
 */
export interface ProgressOptions {
  label: string;
  epochs: number;
  stepsPerEpoch: number;
  /** Items per step, for the rate (images/s); default 1. */
  itemsPerStep?: number;
  stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
  /** Force the mode; by default interactive when the stream is a TTY and CI is unset. */
  interactive?: boolean;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export class Progress {
  private readonly opts: Required<Omit<ProgressOptions, 'stream'>> & { stream: NonNullable<ProgressOptions['stream']> };
  private readonly start = Date.now();
  private lastDraw = 0;
  private stepsDone = 0;
  /** Steps done before this process began (a resumed run): the rate and ETA count only the steps since. */
  private stepsBefore: number | undefined;
  private epochStart = Date.now();

  constructor(opts: ProgressOptions) {
    const stream = opts.stream ?? process.stderr;
    const interactive = opts.interactive ?? (Boolean(stream.isTTY) && !process.env.CI);
    this.opts = { itemsPerStep: 1, ...opts, stream, interactive };
  }

  private get totalSteps(): number {
    return this.opts.epochs * this.opts.stepsPerEpoch;
  }

  private get stepsHere(): number {
    return this.stepsDone - (this.stepsBefore ?? 0);
  }

  private eta(): number {
    const elapsed = (Date.now() - this.start) / 1000;
    return this.stepsHere > 0 ? (elapsed / this.stepsHere) * (this.totalSteps - this.stepsDone) : NaN;
  }

  /** Call after each step; `epoch` and `step` are 0-based. */
  step(epoch: number, step: number, loss: number): void {
    this.stepsBefore ??= epoch * this.opts.stepsPerEpoch + step;
    this.stepsDone = epoch * this.opts.stepsPerEpoch + step + 1;
    if (!this.opts.interactive) return;
    const now = Date.now();
    if (now - this.lastDraw < 200 && step + 1 < this.opts.stepsPerEpoch) return;
    this.lastDraw = now;
    const rate = (this.stepsHere * this.opts.itemsPerStep) / Math.max(1e-3, (now - this.start) / 1000);
    const line =
      `${this.opts.label} epoch ${epoch + 1}/${this.opts.epochs} step ${step + 1}/${this.opts.stepsPerEpoch} ` +
      `loss ${loss.toFixed(4)} ${rate.toFixed(1)}/s ETA ${formatDuration(this.eta())}`;
    this.opts.stream.write(`\r${line}\x1b[K`);
  }

  /** Call at the end of each epoch with the metrics to show. */
  endEpoch(epoch: number, metrics: Record<string, number>): void {
    this.stepsBefore ??= epoch * this.opts.stepsPerEpoch;
    this.stepsDone = (epoch + 1) * this.opts.stepsPerEpoch;
    const secs = (Date.now() - this.epochStart) / 1000;
    this.epochStart = Date.now();
    const shown = Object.entries(metrics)
      .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
      .join(' ');
    const prefix = this.opts.interactive ? '\r\x1b[K' : '';
    this.opts.stream.write(
      `${prefix}${this.opts.label} epoch ${epoch + 1}/${this.opts.epochs} ${shown} (${secs.toFixed(1)}s, ETA ${formatDuration(this.eta())})\n`,
    );
  }
}
