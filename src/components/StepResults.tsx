/** The step panel's part on what a step passed on in the shown run: its outputs (with
 * previews) and its metrics, once it has ended. */
import React from 'react';

import { OrchestApi } from '../api';
import { StepState, TERMINAL } from '../model/runState';
import { MetricsView, OutputsView } from './OutputPreview';
import { useTranslation } from './translation';
import { useStepOutputs } from './useStepOutputs';

export function StepResults({
  api,
  runId,
  step
}: {
  api: OrchestApi;
  runId: string;
  step: StepState;
}): JSX.Element {
  const trans = useTranslation();
  const ended = TERMINAL.has(step.status);
  const { outputs, error } = useStepOutputs(api, runId, step.uuid, ended);
  const metrics = step.metrics ?? {};
  return (
    <div className="jp-orchest-step-results" data-step-results={step.uuid}>
      <h4>{trans.__('Outputs')}</h4>
      {error && <div className="jp-orchest-inline-error">{error}</div>}
      {!ended ? (
        <div className="jp-orchest-empty">
          {trans.__('Shown once the step has ended.')}
        </div>
      ) : outputs ? (
        <OutputsView outputs={outputs} />
      ) : (
        !error && <div className="jp-orchest-empty">{trans.__('Loading…')}</div>
      )}
      {Object.keys(metrics).length > 0 && (
        <>
          <h4>{trans.__('Metrics')}</h4>
          <MetricsView metrics={metrics} />
        </>
      )}
    </div>
  );
}
