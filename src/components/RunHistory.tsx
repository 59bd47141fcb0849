/** The pipeline's runs, newest first; choosing one shows its statuses on the graph, its
 * Open button opens the run's own pipeline as it ran; ticking two and Compare shows them
 * side by side. */
import React, { useState } from 'react';

import { PipelineController, RUNS_PAGE, ViewState } from '../controller';
import { olderFirst, toggleChoice } from '../model/compare';
import { formatDuration, formatTime, RUN_TYPE_LABELS } from '../model/format';
import { StepActions } from './StepDetails';
import { useTranslation } from './translation';

export function RunHistory({
  controller,
  state,
  actions
}: {
  controller: PipelineController;
  state: ViewState;
  actions: StepActions;
}): JSX.Element {
  const trans = useTranslation();
  const [chosen, setChosen] = useState<string[]>([]);
  if (!state.runs.length) {
    return <div className="jp-orchest-empty">{trans.__('No runs yet.')}</div>;
  }
  const more = state.runsTotal - state.runs.length;
  const pair = olderFirst(state.runs, chosen);
  return (
    <>
      <div className="jp-orchest-runs-compare">
        <button
          type="button"
          className="jp-orchest-button"
          data-action="compare-runs"
          disabled={pair === null}
          title={trans.__(
            'Tick two runs to see them side by side (the older one as A)'
          )}
          onClick={() => pair && void actions.compareRuns(...pair)}
        >
          {trans.__('Compare')}
        </button>
        <span className="jp-orchest-muted">
          {trans.__('%1 of 2 runs ticked', chosen.length)}
        </span>
      </div>
      <RunRows
        controller={controller}
        state={state}
        actions={actions}
        chosen={chosen}
        onToggle={runId => setChosen(toggleChoice(chosen, runId))}
        more={more}
      />
    </>
  );
}

function RunRows({
  controller,
  state,
  actions,
  chosen,
  onToggle,
  more
}: {
  controller: PipelineController;
  state: ViewState;
  actions: StepActions;
  chosen: string[];
  onToggle: (runId: string) => void;
  more: number;
}): JSX.Element {
  const trans = useTranslation();
  return (
    <table className="jp-orchest-runs">
      <thead>
        <tr>
          <th />
          <th>{trans.__('Status')}</th>
          <th>{trans.__('Run')}</th>
          <th>{trans.__('Started')}</th>
          <th>{trans.__('Duration')}</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {state.runs.map(run => {
          const shown = run.id === state.run?.id;
          const live = shown && state.run ? state.run : run;
          const status = live.status;
          return (
            <tr
              key={run.id}
              data-run-id={run.id}
              className={shown ? 'jp-mod-selected' : ''}
              onClick={() => void controller.showRun(run.id)}
              title={`Run ${run.id}`}
            >
              <td onClick={event => event.stopPropagation()}>
                <input
                  type="checkbox"
                  data-action="choose-run"
                  aria-label={trans.__('Compare run %1', run.id.slice(0, 8))}
                  checked={chosen.includes(run.id)}
                  onChange={() => onToggle(run.id)}
                />
              </td>
              <td>
                <span
                  className={`jp-orchest-badge jp-orchest-status-${status.toLowerCase()}`}
                >
                  {status}
                </span>
              </td>
              <td>{RUN_TYPE_LABELS[run.run_type] ?? run.run_type}</td>
              <td>{formatTime(live.started_time ?? live.created_time)}</td>
              <td>{formatDuration(live.started_time, live.finished_time)}</td>
              <td>
                <button
                  type="button"
                  className="jp-orchest-linkbutton"
                  data-action="open-run"
                  title={trans.__(
                    'Open the pipeline as this run ran it (read-only)'
                  )}
                  onClick={event => {
                    event.stopPropagation();
                    void actions.openRun(run.id);
                  }}
                >
                  {trans.__('Open')}
                </button>
              </td>
            </tr>
          );
        })}
      </tbody>
      {more > 0 && (
        <tfoot>
          <tr>
            <td colSpan={6}>
              <button
                type="button"
                className="jp-orchest-button"
                data-action="load-more-runs"
                title={`${more} older runs`}
                onClick={() => void controller.loadMoreRuns()}
              >
                Load {Math.min(more, RUNS_PAGE)} more
              </button>
            </td>
          </tr>
        </tfoot>
      )}
    </table>
  );
}
