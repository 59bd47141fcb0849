/** Small text formatting of times and durations for the view. Pure. */

/** "850 ms", "4.2 s", "3 min 07 s", "2 h 05 min"; "" when a time is missing. */
export function formatDuration(
  start: string | null | undefined,
  end: string | null | undefined
): string {
  if (!start || !end) {
    return '';
  }
  return formatElapsed(Date.parse(end) - Date.parse(start));
}

/** A span of `ms` milliseconds as `formatDuration` writes it; "" when not a span. */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) {
    return '';
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  const seconds = ms / 1000;
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, '0')} s`;
  }
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** A timestamp in the user's locale, "" when missing. */
export function formatTime(time: string | null | undefined): string {
  if (!time) {
    return '';
  }
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? time : date.toLocaleString();
}

export const RUN_TYPE_LABELS: Record<string, string> = {
  full: 'All steps',
  selection: 'Selection',
  incoming: 'Ancestors',
  descendants: 'Descendants'
};
