/** The whole pipeline view: toolbar, banners, graph and the side panel (step / runs). */
import { ReactFlowProvider } from '@xyflow/react';
import React, { useCallback, useMemo } from 'react';

import { PipelineController, SideTab } from '../controller';
import { Banner } from './Banner';
import { Graph, GraphEditing } from './Graph';
import { GraphCommands, GraphCommandsBridge } from './GraphCommands';
import { PipelineProperties } from './Properties';
import { RunHistory } from './RunHistory';
import { StepActions, StepDetails } from './StepDetails';
import { StepEditor } from './StepForm';
import { Toolbar } from './Toolbar';
import { useTranslation } from './translation';
import { useViewState } from './useViewState';

const SIDE_TABS: Array<[SideTab, string]> = [
  ['step', 'Step'],
  ['runs', 'Runs'],
  ['pipeline', 'Pipeline']
];

export function PipelineApp({
  controller,
  actions
}: {
  controller: PipelineController;
  actions: StepActions;
}): JSX.Element {
  const state = useViewState(controller);
  const trans = useTranslation();
  const editing = useMemo<GraphEditing>(
    () => ({
      move: positions => controller.move(positions),
      connect: (source, target) => controller.connect(source, target),
      remove: (steps, connections) =>
        controller.deleteElements(steps, connections),
      setScreenToFlow: map => {
        controller.screenToFlow = map;
      },
      setCanvas: canvas => {
        controller.canvas = canvas;
      }
    }),
    [controller]
  );
  const registerCommands = useCallback(
    (commands: GraphCommands | null) => {
      controller.graphCommands = commands;
    },
    [controller]
  );
  // Stable callbacks: a new function would redraw every node of the graph.
  const onSelect = useCallback(
    (uuids: string[]) => controller.setSelection(uuids),
    [controller]
  );
  const onInspect = useCallback(
    (uuid: string | null) => controller.inspect(uuid),
    [controller]
  );
  if (state.formatError) {
    return (
      <div className="jp-orchest-view">
        <div
          className="jp-orchest-format-error"
          role="alert"
          data-banner="format-error"
        >
          <h3>{trans.__('This file cannot be shown as a pipeline')}</h3>
          <p>{state.formatError}</p>
          <p>
            {trans.__(
              'Open it with the text editor (right-click → Open With → Editor) to fix it.'
            )}
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
            <GraphCommandsBridge register={registerCommands} />
            <Graph
              graph={state.graph}
              run={state.run}
              issues={state.issues}
              onSelect={onSelect}
              onInspect={onInspect}
              editing={editing}
              api={controller.api}
            />
          </ReactFlowProvider>
        ) : (
          <div className="jp-orchest-graph jp-orchest-empty">
            {trans.__('Loading…')}
          </div>
        )}
        <div className="jp-orchest-side">
          <div className="jp-orchest-tabs" role="tablist">
            {SIDE_TABS.map(([tab, label]) => (
              <button
                key={tab}
                type="button"
                role="tab"
                aria-selected={state.sideTab === tab}
                data-tab={tab}
                className={state.sideTab === tab ? 'jp-mod-current' : ''}
                onClick={() => controller.setSideTab(tab)}
              >
                {trans.__(label)}
              </button>
            ))}
          </div>
          <div className="jp-orchest-side-body">
            {state.sideTab === 'step' && (
              <>
                <StepEditor
                  controller={controller}
                  actions={actions}
                  state={state}
                />
                <StepDetails
                  api={controller.api}
                  state={state}
                  actions={actions}
                />
              </>
            )}
            {state.sideTab === 'runs' && (
              <RunHistory
                controller={controller}
                state={state}
                actions={actions}
              />
            )}
            {state.sideTab === 'pipeline' && state.graph && (
              <PipelineProperties controller={controller} graph={state.graph} />
            )}
          </div>
        </div>
      </div>
    </div>
  );
}
