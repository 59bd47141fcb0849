/** The whole pipeline view: toolbar, banners, graph and the side panel (step / runs). */
import { ReactFlowProvider } from '@xyflow/react';
import React from 'react';

import { PipelineController } from '../controller';
import { Banner } from './Banner';
import { Graph } from './Graph';
import { RunHistory } from './RunHistory';
import { StepActions, StepDetails } from './StepDetails';
import { Toolbar } from './Toolbar';
import { useViewState } from './useViewState';

export function PipelineApp({
  controller,
  actions
}: {
  controller: PipelineController;
  actions: StepActions;
}): JSX.Element {
  const state = useViewState(controller);
  if (state.formatError) {
    return (
      <div className="jp-orchest-view">
        <div
          className="jp-orchest-format-error"
          role="alert"
          data-banner="format-error"
        >
          <h3>This file cannot be shown as a pipeline</h3>
          <p>{state.formatError}</p>
          <p>
            Open it with the text editor (right-click → Open With → Editor) to
            fix it.
          </p>
        </div>
      </div>
    );
  }
  return (
    <div
      className="jp-orchest-view"
      data-run-id={state.run?.id ?? ''}
      data-run-status={state.run?.status ?? ''}
    >
      <Toolbar controller={controller} state={state} />
      <Banner
        graph={state.graph}
        issues={state.issues}
        error={state.error}
        notice={state.notice}
        onDismiss={() => controller.dismissBanner()}
      />
      <div className="jp-orchest-body">
        {state.graph ? (
          <ReactFlowProvider>
            <Graph
              graph={state.graph}
              run={state.run}
              issues={state.issues}
              onSelect={uuids => controller.setSelection(uuids)}
              onInspect={uuid => controller.inspect(uuid)}
            />
          </ReactFlowProvider>
        ) : (
          <div className="jp-orchest-graph jp-orchest-empty">Loading…</div>
        )}
        <div className="jp-orchest-side">
          <div className="jp-orchest-tabs" role="tablist">
            <button
              type="button"
              role="tab"
              data-tab="step"
              className={state.sideTab === 'step' ? 'jp-mod-current' : ''}
              onClick={() => controller.setSideTab('step')}
            >
              Step
            </button>
            <button
              type="button"
              role="tab"
              data-tab="runs"
              className={state.sideTab === 'runs' ? 'jp-mod-current' : ''}
              onClick={() => controller.setSideTab('runs')}
            >
              Runs
            </button>
          </div>
          <div className="jp-orchest-side-body">
            {state.sideTab === 'step' ? (
              <StepDetails
                controller={controller}
                state={state}
                actions={actions}
              />
            ) : (
              <RunHistory controller={controller} state={state} />
            )}
          </div>
        </div>
      </div>
    </div>
  );
}
