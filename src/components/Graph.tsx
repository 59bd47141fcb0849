/** The pipeline DAG drawn with React Flow: pan, zoom, fit, click / Shift / Ctrl / box select. */
import {
  Background,
  Controls,
  Edge,
  MarkerType,
  NodeTypes,
  OnSelectionChangeParams,
  ReactFlow,
  useNodesState
} from '@xyflow/react';
import React, { useCallback, useEffect, useMemo } from 'react';

import { Issue } from '../api';
import { formatDuration } from '../model/format';
import { layoutSteps } from '../model/layout';
import { PipelineGraph } from '../model/pipeline';
import { RunState } from '../model/runState';
import { StepNode, StepNodeData, StepNodeType } from './StepNode';

const NODE_TYPES: NodeTypes = { step: StepNode };
const MULTI_SELECT_KEYS = ['Shift', 'Meta', 'Control'];

export interface GraphProps {
  graph: PipelineGraph;
  run: RunState | null;
  issues: Issue[];
  onSelect: (uuids: string[]) => void;
  onInspect: (uuid: string | null) => void;
}

function nodeData(
  graph: PipelineGraph,
  run: RunState | null,
  issues: Issue[]
): Map<string, StepNodeData> {
  const byStep = new Map<string, string[]>();
  for (const issue of issues) {
    if (issue.step) {
      byStep.set(issue.step, [
        ...(byStep.get(issue.step) ?? []),
        issue.message
      ]);
    }
  }
  const data = new Map<string, StepNodeData>();
  for (const step of graph.steps) {
    const state = run?.steps[step.uuid];
    data.set(step.uuid, {
      step,
      status: state?.status ?? '',
      duration: state
        ? formatDuration(state.started_time, state.finished_time)
        : '',
      issues: byStep.get(step.uuid) ?? []
    });
  }
  return data;
}

function sameData(a: StepNodeData, b: StepNodeData): boolean {
  return (
    a.step === b.step &&
    a.status === b.status &&
    a.duration === b.duration &&
    a.issues.length === b.issues.length &&
    a.issues.every((message, i) => message === b.issues[i])
  );
}

export function Graph({
  graph,
  run,
  issues,
  onSelect,
  onInspect
}: GraphProps): JSX.Element {
  const layout = useMemo(() => layoutSteps(graph.steps), [graph]);
  const edges = useMemo<Edge[]>(() => {
    const known = new Set(graph.steps.map(step => step.uuid));
    return graph.steps.flatMap(step =>
      step.incoming
        .filter(parent => known.has(parent))
        .map(parent => ({
          id: `${parent}->${step.uuid}`,
          source: parent,
          target: step.uuid,
          selectable: false,
          markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 }
        }))
    );
  }, [graph]);
  const [nodes, setNodes, onNodesChange] = useNodesState<StepNodeType>([]);

  useEffect(() => {
    const data = nodeData(graph, null, []);
    setNodes(
      graph.steps.map(step => ({
        id: step.uuid,
        type: 'step' as const,
        position: layout.positions.get(step.uuid) ?? { x: 0, y: 0 },
        data: data.get(step.uuid) as StepNodeData,
        draggable: false,
        connectable: false
      }))
    );
  }, [graph, layout, setNodes]);

  useEffect(() => {
    const data = nodeData(graph, run, issues);
    setNodes(current =>
      current.map(node => {
        const next = data.get(node.id);
        return next && !sameData(node.data, next)
          ? { ...node, data: next }
          : node;
      })
    );
  }, [graph, run, issues, setNodes]);

  const onSelectionChange = useCallback(
    ({ nodes: selected }: OnSelectionChangeParams) =>
      onSelect(selected.map(node => node.id)),
    [onSelect]
  );

  return (
    <div className="jp-orchest-graph">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onSelectionChange={onSelectionChange}
        onNodeClick={(_, node) => onInspect(node.id)}
        onPaneClick={() => onInspect(null)}
        multiSelectionKeyCode={MULTI_SELECT_KEYS}
        selectionKeyCode="Shift"
        nodesDraggable={false}
        nodesConnectable={false}
        edgesFocusable={false}
        deleteKeyCode={null}
        minZoom={0.05}
        fitView
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={16} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
