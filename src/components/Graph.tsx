/**
 * The pipeline DAG drawn with React Flow: pan, zoom, fit, click / Shift / Ctrl / box
 * select; editing: drag nodes, drag from a node's output to another's input. Keys are
 * JupyterLab keybindings of the pipeline view (GraphCommands), not React Flow's page-wide ones.
 */
import {
  Background,
  Controls,
  EdgeTypes,
  MiniMap,
  NodeTypes,
  OnSelectionChangeParams,
  ReactFlow,
  useNodesState,
  useStore
} from '@xyflow/react';
import React, { useCallback, useMemo, useRef, useState } from 'react';

import { Issue, OrchestApi } from '../api';
import { Layout, layoutSteps } from '../model/layout';
import { PipelineGraph } from '../model/pipeline';
import { RunState, RUNNING } from '../model/runState';
import { BackEdge } from './BackEdge';
import { EdgePreview, useEdgePreview } from './EdgePreview';
import { useConnectionClasses } from './connectionClasses';
import { HandleConfig, HandleConfigContext } from './StepHandle';
import { FIT_VIEW, useCanvasBridge } from './useCanvasBridge';
import { useEdges } from './graphEdges';
import {
  GraphEditing,
  useEditingHandlers,
  usePerformanceMarks
} from './graphHandlers';
import { minimapClass, NodeInputs, nextNodes } from './graphNodes';
import { StepNode, StepNodeType } from './StepNode';
import { useTranslation } from './translation';
import { useNow } from './useNow';

const NODE_TYPES: NodeTypes = { step: StepNode };
const EDGE_TYPES: EdgeTypes = { back: BackEdge };
const MULTI_SELECT_KEYS = ['Shift', 'Meta', 'Control'];
const PRO_OPTIONS = { hideAttribution: true };

export type { GraphEditing } from './graphHandlers';

export interface GraphProps {
  graph: PipelineGraph;
  run: RunState | null;
  issues: Issue[];
  onSelect: (uuids: string[]) => void;
  onInspect: (uuid: string | null) => void;
  editing: GraphEditing;
  /** Draw only: no dragging or connecting (a past run's pipeline). */
  readOnly?: boolean;
  /** Where hovering an edge finds what its parent passed on in `run` (none: no preview). */
  api?: OrchestApi;
}

export function Graph({
  graph,
  run,
  issues,
  onSelect,
  onInspect,
  editing,
  readOnly = false,
  api
}: GraphProps): JSX.Element {
  const trans = useTranslation();
  const layout = useMemo<Layout>(() => layoutSteps(graph.steps), [graph]);
  const edges = useEdges(graph, layout);
  const now = useNow(
    run !== null &&
      Object.values(run.steps).some(step => RUNNING.has(step.status))
  );
  const [nodes, setNodes, onNodesChange] = useNodesState<StepNodeType>([]);
  const container = useRef<HTMLDivElement>(null);
  const rfId = useStore(state => state.rfId);
  const noPanClassName = useStore(state => state.noPanClassName);
  const connectOnClick = useStore(state => state.connectOnClick);
  const handleConfig = useMemo<HandleConfig>(
    () => ({ rfId, noPanClassName, connectOnClick }),
    [rfId, noPanClassName, connectOnClick]
  );
  useConnectionClasses();
  useCanvasBridge(editing, container, layout);
  usePerformanceMarks(container, nodes, edges);
  const { onNodeDragStop, onConnect, onDelete } = useEditingHandlers(
    editing,
    layout
  );

  // Nodes follow the graph, layout and run in the same render that changes them (not in an
  // effect, which would draw the old nodes with the new arrows first, then again).
  const [shown, setShown] = useState<NodeInputs | null>(null);
  if (
    !shown ||
    shown.graph !== graph ||
    shown.layout !== layout ||
    shown.run !== run ||
    shown.issues !== issues ||
    shown.now !== now
  ) {
    const inputs = { graph, layout, run, issues, now };
    setShown(inputs);
    setNodes(current => nextNodes(current, inputs));
  }

  const onSelectionChange = useCallback(
    ({ nodes: selected }: OnSelectionChangeParams) =>
      onSelect(selected.map(node => node.id)),
    [onSelect]
  );

  const onNodeClick = useCallback(
    (_: unknown, node: StepNodeType) => onInspect(node.id),
    [onInspect]
  );

  const preview = useEdgePreview(container);
  const closePreview = preview.close;
  const onPaneClick = useCallback(() => {
    onInspect(null);
    closePreview();
  }, [onInspect, closePreview]);

  return (
    <div className="jp-orchest-graph" ref={container}>
      <HandleConfigContext.Provider value={handleConfig}>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={NODE_TYPES}
          edgeTypes={EDGE_TYPES}
          onNodesChange={onNodesChange}
          onSelectionChange={onSelectionChange}
          onNodeClick={onNodeClick}
          onPaneClick={onPaneClick}
          onEdgeMouseEnter={api && preview.onEdgeMouseEnter}
          onEdgeMouseLeave={api && preview.onEdgeMouseLeave}
          onEdgeClick={api && preview.onEdgeClick}
          onNodeDragStop={onNodeDragStop}
          onConnect={onConnect}
          onDelete={onDelete}
          multiSelectionKeyCode={MULTI_SELECT_KEYS}
          selectionKeyCode="Shift"
          deleteKeyCode={null}
          nodesDraggable={!readOnly}
          nodesConnectable={!readOnly}
          nodeDragThreshold={4}
          minZoom={0.05}
          fitView
          fitViewOptions={FIT_VIEW}
          proOptions={PRO_OPTIONS}
        >
          <Background gap={16} />
          <Controls showInteractive={false} />
          <MiniMap
            pannable
            zoomable
            nodeClassName={minimapClass}
            ariaLabel={trans.__('Overview of the pipeline')}
          />
        </ReactFlow>
      </HandleConfigContext.Provider>
      {api && (
        <EdgePreview api={api} graph={graph} run={run} handlers={preview} />
      )}
    </div>
  );
}
