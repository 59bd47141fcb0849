/**
 * Steps waiting for their Orchest environment's image to be built (`environment_build`
 * events), shown as BUILDING on the shown run. Not part of the run's `seq`-numbered
 * state: a view that missed the events shows such a step as STARTED. Pure.
 */
import { RunState } from './runState';

export const BUILD_SCHEMA =
  'https://orchest-ext.dev/events/environment_build/v1';

export interface BuildEvent {
  schema_id: string;
  run_id: string;
  pipeline_uuid: string;
  step_uuid: string;
  environment_uuid: string;
  /** The environment's name. */
  environment?: string;
  image: string;
  status: 'BUILDING' | 'BUILT' | 'FAILED';
  message?: string | null;
}

/** Step uuid -> the name of the environment it waits for. */
export type Builds = Readonly<Record<string, string>>;

/** The builds after `event` (of the same run). */
export function applyBuildEvent(builds: Builds, event: BuildEvent): Builds {
  const next = { ...builds };
  delete next[event.step_uuid];
  if (event.status === 'BUILDING') {
    next[event.step_uuid] = event.environment || event.environment_uuid;
  }
  return next;
}

/** The run as shown: its STARTED steps that wait for a build are BUILDING. */
export function withBuilds(run: RunState, builds: Builds): RunState {
  const waiting = Object.keys(builds).filter(
    uuid => run.steps[uuid]?.status === 'STARTED'
  );
  if (!waiting.length) {
    return run;
  }
  const steps = { ...run.steps };
  for (const uuid of waiting) {
    steps[uuid] = {
      ...steps[uuid],
      status: 'BUILDING',
      message: `Building environment ${builds[uuid]}`
    };
  }
  return { ...run, steps };
}
