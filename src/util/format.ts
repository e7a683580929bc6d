// Durations and estimates as people read them, the same in the CLI's progress lines and the page.

/** 42 s, 3.5 min, 1.2 h. */
export function seconds(s: number): string {
  if (!Number.isFinite(s)) return '–';
  if (s < 90) return `${s.toFixed(0)} s`;
  if (s < 5400) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** An estimate that may leave out a part not timed yet: "4.2 min", or "≥ 4.2 min (evaluation not timed yet)". */
export function estimate(e: { seconds: number; partial: boolean }): string {
  return e.partial ? `≥ ${seconds(e.seconds)} (evaluation not timed yet)` : seconds(e.seconds);
}
