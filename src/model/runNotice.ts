/** Which finished runs raise a notification and what it says. Pure: no JupyterLab imports. */
import { NotifyWhen } from './preferences';
import { ApiRun, Status, TERMINAL } from './runState';

/** How this JupyterLab knows a run: started from here, or a job's run seen in the Jobs panel. */
export type RunOrigin = 'mine' | 'job';

/** Whether a run that ended with `status` raises a notification under the setting. */
export function shouldNotify(
  when: NotifyWhen,
  origin: RunOrigin,
  status: Status
): boolean {
  if (when === 'never' || !TERMINAL.has(status)) {
    return false;
  }
  if (origin === 'job') {
    return status === 'FAILURE';
  }
  return when === 'every-end' || status !== 'SUCCESS';
}

/** "850 ms", "12.3 s", "4 min 5 s", "2 h 3 min" between two ISO times ('' if unknown). */
export function duration(
  start: string | null | undefined,
  end: string | null | undefined
): string {
  if (!start || !end) {
    return '';
  }
  const ms = Date.parse(end) - Date.parse(start);
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
    return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The first failed step of a run (the one *Show log* opens), if any. */
export function firstFailedStep(
  run: ApiRun
): { uuid: string; title: string } | null {
  return run.steps?.find(step => step.status === 'FAILURE') ?? null;
}

/**
 * A pipeline file's path relative to the server's root dir, from the absolute path the API
 * gives (null when it is not under the root).
 */
export function relativeToRoot(
  absolute: string | null | undefined,
  serverRoot: string
): string | null {
  if (!absolute) {
    return null;
  }
  const root = serverRoot.replace(/\/+$/, '');
  if (root && absolute.startsWith(`${root}/`)) {
    return absolute.slice(root.length + 1);
  }
  return root ? null : absolute.replace(/^\/+/, '');
}
