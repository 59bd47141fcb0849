/** A past run's own pipeline, read-only: a banner when the file changed since, the graph
 * with the run's statuses, and the step panel with the run's parameters and logs. */
import { ReactFlowProvider } from '@xyflow/react';
import React, { useCallback, useEffect, useState } from 'react';

import { RunViewController, RunViewState } from '../controllers/runView';
import { changesMessage, hasChanges } from '../model/ranPipeline';
import { Graph, GraphEditing } from './Graph';
import { StepActions, StepDetails } from './StepDetails';
import { useTranslation } from './translation';

/** The graph's edits in a read-only view: none. */
const NO_EDITING: GraphEditing = {
  move: () => undefined,
  connect: () => undefined,
  remove: () => undefined,
  setScreenToFlow: () => undefined,
  setCanvas: () => undefined
};

const NO_ISSUES: never[] = [];

function useRunViewState(controller: RunViewController): RunViewState {
  const [state, setState] = useState(controller.state);
  useEffect(() => {
    const onChange = (_: unknown, next: RunViewState) => setState(next);
    controller.changed.connect(onChange);
    setState(controller.state);
    return () => {
      controller.changed.disconnect(onChange);
    };
  }, [controller]);
  return state;
}

function ChangedBanner({
  state,
  onOpenPipeline
}: {
  state: RunViewState;
  onOpenPipeline: () => void;
}): JSX.Element {
  const trans = useTranslation();
  const changes = state.changes;
  const changed = changes !== null && hasChanges(changes);
  return (
    <div
      className={`jp-orchest-banner ${changed ? 'jp-orchest-banner-warn' : 'jp-orchest-banner-info'}`}
      role="status"
      data-banner={
        changes?.gone ? 'run-file-gone' : changed ? 'run-changed' : 'run-view'
      }
    >
      <span>
        {changed
          ? changesMessage(changes, trans.__.bind(trans))
          : trans.__(
              'A record of this run: the pipeline, parameters and statuses as it ran (read-only).'
            )}
      </span>
      {state.path && !changes?.gone && (
        <button
          type="button"
          className="jp-orchest-button"
          data-action="open-pipeline"
          title={trans.__('Open the pipeline file to edit and run it')}
          onClick={onOpenPipeline}
        >
          {trans.__('Open the editable pipeline')}
        </button>
      )}
    </div>
  );
}

/** The step panel of the run's step (its parameters, log, executed notebook, why it ran);
 * with no step chosen, the pipeline parameters the run used. */
function RunSidePanel({
  controller,
  state,
  actions
}: {
  controller: RunViewController;
  state: RunViewState;
  actions: StepActions;
}): JSX.Element {
  const trans = useTranslation();
  return (
    <div className="jp-orchest-side">
      <div className="jp-orchest-side-body">
        <StepDetails
          api={controller.api}
          state={{ ...state, issues: NO_ISSUES }}
          actions={actions}
          ranBecause={state.ranBecause}
        />
        {state.graph && !state.inspected && (
          <>
            <h4>{trans.__('Pipeline parameters')}</h4>
            <pre
              className="jp-orchest-params"
              data-pipeline-params={controller.runId}
            >
              {JSON.stringify(state.graph.parameters, null, 2)}
            </pre>
          </>
        )}
      </div>
    </div>
  );
}

export function RunApp({
  controller,
  actions,
  openPipeline
}: {
  controller: RunViewController;
  actions: StepActions;
  openPipeline: (path: string) => void;
}): JSX.Element {
  const state = useRunViewState(controller);
  const trans = useTranslation();
  const onInspect = useCallback(
    (uuid: string | null) => controller.inspect(uuid),
    [controller]
  );
  const onSelect = useCallback(() => undefined, []);
  return (
    <div
      className="jp-orchest-view"
      data-run-id={controller.runId}
      data-run-status={state.run?.status ?? ''}
      data-read-only="true"
    >
      <ChangedBanner
        state={state}
        onOpenPipeline={() => state.path && openPipeline(state.path)}
      />
      {state.error && (
        <div
          className="jp-orchest-banner jp-orchest-banner-error"
          role="alert"
          data-banner="error"
        >
          {state.error}
        </div>
      )}
      <div className="jp-orchest-body">
        {state.graph ? (
          <ReactFlowProvider>
            <Graph
              graph={state.graph}
              run={state.run}
              issues={NO_ISSUES}
              onSelect={onSelect}
              onInspect={onInspect}
              editing={NO_EDITING}
              readOnly
              api={controller.api}
            />
          </ReactFlowProvider>
        ) : (
          <div className="jp-orchest-graph jp-orchest-empty">
            {trans.__('Loading…')}
          </div>
        )}
        <RunSidePanel controller={controller} state={state} actions={actions} />
      </div>
    </div>
  );
}
