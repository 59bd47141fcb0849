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

/** The first failed step of a run (the one *Show log* opens), if any. */
export function firstFailedStep(
  run: ApiRun
): { uuid: string; title: string } | null {
  return run.steps?.find(step => step.status === 'FAILURE') ?? null;
}
