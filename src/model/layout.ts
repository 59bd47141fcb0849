/**
 * Where each step is drawn: its stored position, or a layered layout (dagre) when
 * positions are missing or boxes overlap. Pure: no JupyterLab imports.
 */
import dagre from '@dagrejs/dagre';

import { PipelineStep, Position } from './pipeline';

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 72;
/** Above this many steps the ranking uses dagre's faster tight-tree ranker. */
const NETWORK_SIMPLEX_MAX_STEPS = 150;

export interface Layout {
  positions: Map<string, Position>;
  /** Whether the positions come from the automatic layout rather than the file. */
  automatic: boolean;
}

/** Whether the stored positions cannot be used as they are. */
export function needsAutomaticLayout(steps: PipelineStep[]): boolean {
  if (steps.some(step => step.position === null)) {
    return true;
  }
  return hasOverlap(steps.map(step => step.position as Position));
}

/** Whether any two node boxes at these top-left corners overlap (sweep along x). */
export function hasOverlap(points: Position[]): boolean {
  const sorted = [...points].sort((a, b) => a.x - b.x);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      if (sorted[j].x - sorted[i].x >= NODE_WIDTH) {
        break;
      }
      if (Math.abs(sorted[j].y - sorted[i].y) < NODE_HEIGHT) {
        return true;
      }
    }
  }
  return false;
}

/** Stored positions when usable, else a left-to-right layered layout of the DAG. */
export function layoutSteps(steps: PipelineStep[]): Layout {
  if (!needsAutomaticLayout(steps)) {
    return {
      positions: new Map(steps.map(s => [s.uuid, s.position as Position])),
      automatic: false
    };
  }
  return { positions: layeredLayout(steps), automatic: true };
}

/** Top-left corners from dagre's layered (Sugiyama) layout, ranks from left to right. */
export function layeredLayout(steps: PipelineStep[]): Map<string, Position> {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({
    rankdir: 'LR',
    nodesep: 24,
    ranksep: 64,
    marginx: 16,
    marginy: 16,
    ranker:
      steps.length > NETWORK_SIMPLEX_MAX_STEPS
        ? 'tight-tree'
        : 'network-simplex'
  });
  graph.setDefaultEdgeLabel(() => ({}));
  const known = new Set(steps.map(step => step.uuid));
  for (const step of steps) {
    graph.setNode(step.uuid, { width: NODE_WIDTH, height: NODE_HEIGHT });
  }
  for (const step of steps) {
    for (const parent of step.incoming) {
      if (known.has(parent) && parent !== step.uuid) {
        graph.setEdge(parent, step.uuid);
      }
    }
  }
  dagre.layout(graph);
  const positions = new Map<string, Position>();
  for (const step of steps) {
    const node = graph.node(step.uuid);
    positions.set(step.uuid, {
      x: Math.round(node.x - NODE_WIDTH / 2),
      y: Math.round(node.y - NODE_HEIGHT / 2)
    });
  }
  return positions;
}
