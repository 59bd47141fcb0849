/** React hook: what a step of a run passed on, fetched once the step has ended (a record:
 * it never changes afterwards, so answers are kept for the next look). */
import { useEffect, useState } from 'react';

import { OrchestApi } from '../api';
import { StepOutput } from '../model/outputs';

/** How many steps' outputs are kept (the oldest looked at go first). */
const KEPT = 200;
const kept = new Map<string, StepOutput[]>();

export interface StepOutputsState {
  /** null until fetched (or while the step has not ended). */
  outputs: StepOutput[] | null;
  error: string | null;
}

/** The step's outputs, from what was kept or the server. */
export async function stepOutputs(
  api: OrchestApi,
  runId: string,
  stepUuid: string
): Promise<StepOutput[]> {
  const key = `${runId}/${stepUuid}`;
  const known = kept.get(key);
  if (known) {
    kept.delete(key);
    kept.set(key, known);
    return known;
  }
  const { outputs } = await api.stepOutputs(runId, stepUuid);
  kept.set(key, outputs);
  if (kept.size > KEPT) {
    kept.delete(kept.keys().next().value as string);
  }
  return outputs;
}

export function useStepOutputs(
  api: OrchestApi,
  runId: string | null,
  stepUuid: string | null,
  ended: boolean
): StepOutputsState {
  const [state, setState] = useState<StepOutputsState>({
    outputs: null,
    error: null
  });
  useEffect(() => {
    setState({ outputs: null, error: null });
    if (!runId || !stepUuid || !ended) {
      return;
    }
    let cancelled = false;
    stepOutputs(api, runId, stepUuid).then(
      outputs => !cancelled && setState({ outputs, error: null }),
      err =>
        !cancelled && setState({ outputs: null, error: (err as Error).message })
    );
    return () => {
      cancelled = true;
    };
  }, [api, runId, stepUuid, ended]);
  return state;
}
