/**
 * The React Flow nodes of a pipeline: what each shows of its step and the shown run, built
 * so that unchanged nodes keep their objects (React Flow then redraws only changed ones).
 */
import { Issue } from '../api';
import { formatDuration } from '../model/format';
import { Layout } from '../model/layout';
import { PipelineGraph } from '../model/pipeline';
import { RunState, RUNNING } from '../model/runState';
import { StepLabel, StepNodeData, StepNodeType } from './StepNode';

/** How long a step ran, or has been running until `now`; nothing for a cached step. */
function stepDuration(
  state: RunState['steps'][string] | undefined,
  now: number
): string {
  if (!state || state.cached) {
    return '';
  }
  const running = RUNNING.has(state.status) && !state.finished_time;
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
    const { uuid, title, filePath, kind, kernel } = step;
    data.set(step.uuid, {
      step: { uuid, title, filePath, kind, kernel },
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
    a.kind === b.kind &&
    a.kernel === b.kernel
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

export interface NodeInputs {
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
export function nextNodes(
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

export function minimapClass(node: StepNodeType): string {
  const status = node.data.status.toLowerCase() || 'none';
  return `jp-orchest-minimap-node jp-orchest-status-${status}`;
}
