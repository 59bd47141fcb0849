/**
 * Where each step is drawn: its stored position; a layered layout (dagre) for a file with
 * none, or on request (Tidy up); a free spot in the visible area for a new step. Pure: no
 * JupyterLab imports.
 */
import dagre from '@dagrejs/dagre';

import { PipelineStep, Position } from './pipeline';

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 72;
/** Space kept between a new step and the steps around it. */
const GAP = 24;
/** Above this many steps the ranking uses dagre's faster tight-tree ranker. */
const NETWORK_SIMPLEX_MAX_STEPS = 150;

export interface Layout {
  positions: Map<string, Position>;
  /** Whether some positions are drawn but not stored (the file lacks them). */
  automatic: boolean;
}

/** A rectangle in canvas coordinates. */
export interface Area {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Whether the node boxes at these two top-left corners overlap. */
function boxesOverlap(a: Position, b: Position): boolean {
  return Math.abs(a.x - b.x) < NODE_WIDTH && Math.abs(a.y - b.y) < NODE_HEIGHT;
}

/** Whether any two node boxes at these top-left corners overlap (sweep along x). */
export function hasOverlap(points: Position[]): boolean {
  const sorted = [...points].sort((a, b) => a.x - b.x);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      if (sorted[j].x - sorted[i].x >= NODE_WIDTH) {
        break;
      }
      if (boxesOverlap(sorted[i], sorted[j])) {
        return true;
      }
    }
  }
  return false;
}

/**
 * The stored positions, as they are (overlaps included: only Tidy up moves steps). A file
 * without positions is laid out; steps lacking one in a file that has some are laid out
 * below the others.
 */
export function layoutSteps(steps: PipelineStep[]): Layout {
  const positions = new Map<string, Position>();
  const missing: PipelineStep[] = [];
  for (const step of steps) {
    if (step.position) {
      positions.set(step.uuid, step.position);
    } else {
      missing.push(step);
    }
  }
  if (!missing.length) {
    return { positions, automatic: false };
  }
  const placed = layeredLayout(missing);
  if (positions.size) {
    const stored = [...positions.values()];
    const left = Math.min(...stored.map(p => p.x));
    const below = Math.max(...stored.map(p => p.y)) + NODE_HEIGHT + GAP;
    const laid = [...placed.values()];
    const dx = left - Math.min(...laid.map(p => p.x));
    const dy = below - Math.min(...laid.map(p => p.y));
    for (const [uuid, p] of placed) {
      placed.set(uuid, { x: p.x + dx, y: p.y + dy });
    }
  }
  for (const step of steps) {
    positions.set(
      step.uuid,
      positions.get(step.uuid) ?? placed.get(step.uuid)!
    );
  }
  return { positions, automatic: true };
}

/**
 * Top-left corners for `count` new steps inside `view`: the free spots nearest its middle
 * (not on a drawn step), or its middle when the visible area has no free spot left.
 */
export function placeNewSteps(
  view: Area,
  taken: Position[],
  count: number
): Position[] {
  const middle = {
    x: Math.round(view.x + view.width / 2 - NODE_WIDTH / 2),
    y: Math.round(view.y + view.height / 2 - NODE_HEIGHT / 2)
  };
  const candidates: Position[] = [];
  const reachX = Math.floor((view.width - NODE_WIDTH) / 2 / (NODE_WIDTH + GAP));
  const reachY = Math.floor(
    (view.height - NODE_HEIGHT) / 2 / (NODE_HEIGHT + GAP)
  );
  for (let i = -reachX; i <= reachX; i++) {
    for (let j = -reachY; j <= reachY; j++) {
      candidates.push({
        x: middle.x + i * (NODE_WIDTH + GAP),
        y: middle.y + j * (NODE_HEIGHT + GAP)
      });
    }
  }
  const distance = (p: Position) =>
    Math.hypot((p.x - middle.x) / NODE_WIDTH, (p.y - middle.y) / NODE_HEIGHT);
  candidates.sort((a, b) => distance(a) - distance(b));
  const occupied = [...taken];
  const spots: Position[] = [];
  for (let n = 0; n < count; n++) {
    const free = candidates.find(c => !occupied.some(p => boxesOverlap(c, p)));
    const spot = free ?? middle;
    spots.push(spot);
    occupied.push(spot);
  }
  return spots;
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
