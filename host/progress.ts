// Progress of long commands on stderr. On a terminal: one line rewritten in
// place a few times a second. Elsewhere (CI logs, redirected stderr): a plain
// status line every `interval` (VGIC_PROGRESS_INTERVAL seconds, default 10),
// so a log shows that a long run is alive and how far it got. Either way a
// `note` (a new phase: "variant 2 of 4") is printed as a line of its own.

export interface ProgressOptions {
  /** what is running, the start of every line ("explore --matrix") */
  label: string;
  /** stderr is a terminal */
  tty: boolean;
  write(s: string): void;
  /** milliseconds between plain lines when not a terminal */
  intervalMs?: number;
  /** milliseconds between redraws on a terminal (200) */
  ttyIntervalMs?: number;
  /** the clock, in milliseconds (tests) */
  now?: () => number;
}

/** The interval between plain status lines: VGIC_PROGRESS_INTERVAL seconds, or 10. */
export function progressIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.VGIC_PROGRESS_INTERVAL;
  if (v === undefined || v === "") return 10_000;
  const s = Number(v);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 10_000;
}

/** "1 h 02 min", "3 min 05 s", "42 s" */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

export class Progress {
  private readonly now: () => number;
  private readonly t0: number;
  private last = -Infinity;
  private drawn = false;
  private readonly interval: number;

  constructor(private readonly o: ProgressOptions) {
    this.now = o.now ?? (() => Date.now());
    this.t0 = this.now();
    this.interval = o.tty ? (o.ttyIntervalMs ?? 200) : (o.intervalMs ?? progressIntervalMs());
    // the first plain line comes one interval after the start
    if (!o.tty) this.last = this.t0;
  }

  /** The status text: done/total unit, percentage, elapsed, ETA from the rate so far. */
  status(done: number, total: number | null, unit: string, detail = ""): string {
    const elapsed = this.now() - this.t0;
    let s = `${this.o.label}: ${done}${total !== null ? `/${total}` : ""} ${unit}`;
    if (total !== null && total > 0) {
      s += ` (${Math.floor((100 * done) / total)}%)`;
    }
    s += `, ${formatDuration(elapsed)} elapsed`;
    if (total !== null && done > 0 && done < total) s += `, ETA ${formatDuration((elapsed * (total - done)) / done)}`;
    return detail ? `${s}, ${detail}` : s;
  }

  /** Report the count so far; shown only when the interval has passed. */
  update(done: number, total: number | null, unit: string, detail = ""): void {
    const t = this.now();
    if (t - this.last < this.interval) return;
    this.last = t;
    const s = this.status(done, total, unit, detail);
    if (this.o.tty) {
      this.o.write(`\r${s}\x1b[K`);
      this.drawn = true;
    } else {
      this.o.write(s + "\n");
    }
  }

  /** A line of its own (a phase starts), never throttled. */
  note(s: string): void {
    this.clear();
    this.o.write(`${this.o.label}: ${s}\n`);
  }

  /** Remove the terminal line before other output. */
  clear(): void {
    if (this.drawn) {
      this.o.write("\r\x1b[K");
      this.drawn = false;
    }
  }
}
