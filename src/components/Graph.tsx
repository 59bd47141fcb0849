/**
 * The pipeline DAG drawn with React Flow: pan, zoom, fit, click / Shift / Ctrl / box
 * select; editing: drag nodes, drag from a node's output to another's input. Keys are
 * JupyterLab keybindings of the pipeline view (GraphCommands), not React Flow's page-wide ones.
 */
import {
  Background,
  Connection,
  Controls,
  Edge,
  EdgeTypes,
  MarkerType,
  MiniMap,
  NodeTypes,
  OnSelectionChangeParams,
  ReactFlow,
  useNodesState,
  useReactFlow,
  useStore
} from '@xyflow/react';
import React, {
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState
} from 'react';

import { Issue } from '../api';
import { CanvasView, DRAWN_MARK, POINTERUP_MARK } from '../controller';
import { formatDuration } from '../model/format';
import { Layout, layoutSteps, NODE_HEIGHT, NODE_WIDTH } from '../model/layout';
import { PipelineGraph, Position } from '../model/pipeline';
import { RunState } from '../model/runState';
import { BACK_EDGE_OFFSET, BackEdge } from './BackEdge';
import { useConnectionClasses } from './connectionClasses';
import { HandleConfig, HandleConfigContext } from './StepHandle';
import { StepLabel, StepNode, StepNodeData, StepNodeType } from './StepNode';
import { useNow } from './useNow';

const NODE_TYPES: NodeTypes = { step: StepNode };
const EDGE_TYPES: EdgeTypes = { back: BackEdge };
/** Space between a back edge and the bottom of the nodes it passes under. */
const BACK_EDGE_CLEARANCE = 32;
const MULTI_SELECT_KEYS = ['Shift', 'Meta', 'Control'];
const FIT_VIEW = { padding: 0.15 };
const PRO_OPTIONS = { hideAttribution: true };

export interface GraphEditing {
  move(positions: Map<string, Position>): void;
  connect(source: string, target: string): void;
  remove(steps: string[], connections: Array<[string, string]>): void;
  /** Receives the screen → canvas mapping (for drops from the file browser). */
  setScreenToFlow(map: ((point: Position) => Position) | null): void;
  /** Receives the visible area and the drawn positions (for new steps). */
  setCanvas(canvas: CanvasView | null): void;
}

export interface GraphProps {
  graph: PipelineGraph;
  run: RunState | null;
  issues: Issue[];
  onSelect: (uuids: string[]) => void;
  onInspect: (uuid: string | null) => void;
  editing: GraphEditing;
}

/** How long a step ran, or has been running until `now`; nothing for a cached step. */
function stepDuration(
  state: RunState['steps'][string] | undefined,
  now: number
): string {
  if (!state || state.cached) {
    return '';
  }
  const running = state.status === 'STARTED' && !state.finished_time;
  return formatDuration(
    state.started_time,
    running ? new Date(now).toISOString() : state.finished_time
  );
}

function nodeData(
  graph: PipelineGraph,
  run: RunState | null,
  issues: Issue[],
  now: number
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
    const { uuid, title, filePath, kind } = step;
    data.set(step.uuid, {
      step: { uuid, title, filePath, kind },
      status: state?.status ?? '',
      cachedFrom: state?.cached ? (state.cached_from ?? '') : null,
      duration: stepDuration(state, now),
      issues: byStep.get(step.uuid) ?? []
    });
  }
  return data;
}

function sameStep(a: StepLabel, b: StepLabel): boolean {
  return (
    a.uuid === b.uuid &&
    a.title === b.title &&
    a.filePath === b.filePath &&
    a.kind === b.kind
  );
}

function sameData(a: StepNodeData, b: StepNodeData): boolean {
  return (
    sameStep(a.step, b.step) &&
    a.status === b.status &&
    a.cachedFrom === b.cachedFrom &&
    a.duration === b.duration &&
    a.issues.length === b.issues.length &&
    a.issues.every((message, i) => message === b.issues[i])
  );
}

const ARROW = { type: MarkerType.ArrowClosed, width: 18, height: 18 };

/**
 * The level a back edge from `source` to `target` runs at: below every node between (and
 * beside) them, so that it crosses none.
 */
function belowNodesBetween(
  source: Position,
  target: Position,
  positions: Map<string, Position>
): number {
  const left = Math.min(source.x, target.x) - BACK_EDGE_OFFSET;
  const right = Math.max(source.x, target.x) + NODE_WIDTH + BACK_EDGE_OFFSET;
  let bottom = Math.max(source.y, target.y) + NODE_HEIGHT;
  for (const p of positions.values()) {
    if (p.x < right && p.x + NODE_WIDTH > left && p.y + NODE_HEIGHT > bottom) {
      bottom = p.y + NODE_HEIGHT;
    }
  }
  return bottom + BACK_EDGE_CLEARANCE;
}

/** The arrows; one into a step drawn left of its source goes around the nodes between. */
function edgesOf(graph: PipelineGraph, layout: Layout): Edge[] {
  const { positions } = layout;
  return graph.steps.flatMap(step =>
    step.incoming
      .filter(parent => positions.has(parent))
      .map(parent => {
        const edge = {
          id: `${parent}->${step.uuid}`,
          source: parent,
          target: step.uuid,
          markerEnd: ARROW
        };
        const from = positions.get(parent) as Position;
        const to = positions.get(step.uuid) as Position;
        if (to.x >= from.x + NODE_WIDTH) {
          return edge;
        }
        return {
          ...edge,
          type: 'back',
          className: 'jp-orchest-back-edge',
          data: { below: belowNodesBetween(from, to, positions) }
        };
      })
  );
}

function sameEdge(a: Edge, b: Edge): boolean {
  return a.type === b.type && a.data?.below === b.data?.below;
}

interface NodeInputs {
  graph: PipelineGraph;
  layout: Layout;
  run: RunState | null;
  issues: Issue[];
  /** The time running steps' durations count to. */
  now: number;
}

/**
 * The React Flow nodes for these inputs, reusing every node object that did not change (and
 * the array itself when none did: React Flow then has no nodes to update).
 */
function nextNodes(
  current: StepNodeType[],
  { graph, layout, run, issues, now }: NodeInputs
): StepNodeType[] {
  const data = nodeData(graph, run, issues, now);
  const previous = new Map(current.map(node => [node.id, node]));
  const next = graph.steps.map(step => {
    const old = previous.get(step.uuid);
    // A node being dragged stays under the pointer; its drop stores where it is.
    const position = old?.dragging
      ? old.position
      : (layout.positions.get(step.uuid) ?? { x: 0, y: 0 });
    const next = data.get(step.uuid) as StepNodeData;
    const sameNodeData = old !== undefined && sameData(old.data, next);
    if (
      old &&
      sameNodeData &&
      old.position.x === position.x &&
      old.position.y === position.y
    ) {
      return old;
    }
    return {
      id: step.uuid,
      type: 'step' as const,
      position,
      data: sameNodeData ? old.data : next,
      selected: old?.selected ?? false,
      dragging: old?.dragging,
      // Known sizes are kept: a node without them is measured again before it is drawn.
      measured: old?.measured
    };
  });
  const unchanged =
    next.length === current.length &&
    next.every((node, i) => node === current[i]);
  return unchanged ? current : next;
}

function minimapClass(node: StepNodeType): string {
  const status = node.data.status.toLowerCase() || 'none';
  return `jp-orchest-minimap-node jp-orchest-status-${status}`;
}

export function Graph({
  graph,
  run,
  issues,
  onSelect,
  onInspect,
  editing
}: GraphProps): JSX.Element {
  const layout = useMemo<Layout>(() => layoutSteps(graph.steps), [graph]);
  const previousEdges = useRef(new Map<string, Edge>());
  const edges = useMemo(() => {
    // Unchanged connections keep their objects, so React Flow redraws only new ones.
    const next = edgesOf(graph, layout).map(edge => {
      const old = previousEdges.current.get(edge.id);
      return old && sameEdge(old, edge) ? old : edge;
    });
    previousEdges.current = new Map(next.map(edge => [edge.id, edge]));
    return next;
  }, [graph, layout]);
  const now = useNow(
    run !== null &&
      Object.values(run.steps).some(step => step.status === 'STARTED')
  );
  const [nodes, setNodes, onNodesChange] = useNodesState<StepNodeType>([]);
  const layoutRef = useRef(layout);
  layoutRef.current = layout;
  const flow = useReactFlow();
  const fitPending = useRef(false);
  const container = useRef<HTMLDivElement>(null);
  const rfId = useStore(state => state.rfId);
  const noPanClassName = useStore(state => state.noPanClassName);
  const connectOnClick = useStore(state => state.connectOnClick);
  const handleConfig = useMemo<HandleConfig>(
    () => ({ rfId, noPanClassName, connectOnClick }),
    [rfId, noPanClassName, connectOnClick]
  );
  useConnectionClasses();

  useEffect(() => {
    editing.setScreenToFlow(point => flow.screenToFlowPosition(point));
    editing.setCanvas({
      visibleArea: () => {
        const box = container.current?.getBoundingClientRect();
        const from = flow.screenToFlowPosition({
          x: box?.left ?? 0,
          y: box?.top ?? 0
        });
        const to = flow.screenToFlowPosition({
          x: box?.right ?? 0,
          y: box?.bottom ?? 0
        });
        return { ...from, width: to.x - from.x, height: to.y - from.y };
      },
      layout: () => layoutRef.current,
      fitNext: () => {
        fitPending.current = true;
      }
    });
    return () => {
      editing.setScreenToFlow(null);
      editing.setCanvas(null);
    };
  }, [editing, flow]);

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

  useEffect(() => {
    // Capture phase: marked before React Flow's own handlers end the drag.
    const element = container.current;
    const mark = () => {
      performance.clearMarks(POINTERUP_MARK);
      performance.mark(POINTERUP_MARK);
    };
    element?.addEventListener('pointerup', mark, true);
    return () => element?.removeEventListener('pointerup', mark, true);
  }, []);

  useEffect(() => {
    // The first layout after Tidy up: React Flow's store has its nodes by now (its
    // effects run before this one).
    if (fitPending.current) {
      fitPending.current = false;
      void flow.fitView(FIT_VIEW);
    }
  }, [layout, flow]);

  useLayoutEffect(() => {
    const frame = requestAnimationFrame(() => {
      performance.clearMarks(DRAWN_MARK);
      performance.mark(DRAWN_MARK);
    });
    return () => cancelAnimationFrame(frame);
  }, [nodes, edges]);

  const onSelectionChange = useCallback(
    ({ nodes: selected }: OnSelectionChangeParams) =>
      onSelect(selected.map(node => node.id)),
    [onSelect]
  );

  const onNodeDragStop = useCallback(
    (_: unknown, __: unknown, dragged: StepNodeType[]) => {
      const positions = new Map<string, Position>();
      if (layoutRef.current.automatic) {
        // The first move of a laid-out pipeline stores every position, so nothing jumps.
        for (const [uuid, position] of layoutRef.current.positions) {
          positions.set(uuid, position);
        }
      }
      for (const node of dragged) {
        positions.set(node.id, node.position);
      }
      editing.move(positions);
    },
    [editing]
  );

  const onNodeClick = useCallback(
    (_: unknown, node: StepNodeType) => onInspect(node.id),
    [onInspect]
  );

  const onPaneClick = useCallback(() => onInspect(null), [onInspect]);

  const onConnect = useCallback(
    (connection: Connection) =>
      editing.connect(connection.source, connection.target),
    [editing]
  );

  const onDelete = useCallback(
    ({ nodes: gone, edges: cut }: { nodes: StepNodeType[]; edges: Edge[] }) =>
      editing.remove(
        gone.map(node => node.id),
        cut.map(edge => [edge.source, edge.target] as [string, string])
      ),
    [editing]
  );

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
          onNodeDragStop={onNodeDragStop}
          onConnect={onConnect}
          onDelete={onDelete}
          multiSelectionKeyCode={MULTI_SELECT_KEYS}
          selectionKeyCode="Shift"
          deleteKeyCode={null}
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
            ariaLabel="Overview of the pipeline"
          />
        </ReactFlow>
      </HandleConfigContext.Provider>
    </div>
  );
}
