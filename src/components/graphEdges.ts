/**
 * The React Flow edges of a pipeline: an arrow per connection; one into a step drawn left of
 * its source (a cycle's back edge) is routed below the nodes between.
 */
import { Edge, MarkerType } from '@xyflow/react';
import { useMemo, useRef } from 'react';

import { Layout, NODE_HEIGHT, NODE_WIDTH } from '../model/layout';
import { PipelineGraph, Position } from '../model/pipeline';
import { BACK_EDGE_OFFSET } from './BackEdge';

/** Space between a back edge and the bottom of the nodes it passes under. */
const BACK_EDGE_CLEARANCE = 32;

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

/** The edges, keeping the objects of unchanged ones (React Flow redraws only new ones). */
export function useEdges(graph: PipelineGraph, layout: Layout): Edge[] {
  const previous = useRef(new Map<string, Edge>());
  return useMemo(() => {
    const next = edgesOf(graph, layout).map(edge => {
      const old = previous.current.get(edge.id);
      return old && sameEdge(old, edge) ? old : edge;
    });
    previous.current = new Map(next.map(edge => [edge.id, edge]));
    return next;
  }, [graph, layout]);
}
