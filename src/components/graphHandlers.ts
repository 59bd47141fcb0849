/** The graph's edits (drag, connect, delete) as editing calls, and its performance marks. */
import { Connection, Edge } from '@xyflow/react';
import {
  RefObject,
  useCallback,
  useEffect,
  useLayoutEffect,
  useRef
} from 'react';

import { CanvasView, DRAWN_MARK, POINTERUP_MARK } from '../controller';
import { Layout } from '../model/layout';
import { Position } from '../model/pipeline';
import { StepNodeType } from './StepNode';

/** What the graph's edits call (the controller, through the pipeline view). */
export interface GraphEditing {
  move(positions: Map<string, Position>): void;
  connect(source: string, target: string): void;
  remove(steps: string[], connections: Array<[string, string]>): void;
  /** Receives the screen → canvas mapping (for drops from the file browser). */
  setScreenToFlow(map: ((point: Position) => Position) | null): void;
  /** Receives the visible area and the drawn positions (for new steps). */
  setCanvas(canvas: CanvasView | null): void;
}

/** Marks the release of the pointer over the graph and each drawing of changed nodes. */
export function usePerformanceMarks(
  container: RefObject<HTMLDivElement>,
  nodes: StepNodeType[],
  edges: Edge[]
): void {
  useEffect(() => {
    // Capture phase: marked before React Flow's own handlers end the drag.
    const element = container.current;
    const mark = () => {
      performance.clearMarks(POINTERUP_MARK);
      performance.mark(POINTERUP_MARK);
    };
    element?.addEventListener('pointerup', mark, true);
    return () => element?.removeEventListener('pointerup', mark, true);
  }, [container]);

  useLayoutEffect(() => {
    const frame = requestAnimationFrame(() => {
      performance.clearMarks(DRAWN_MARK);
      performance.mark(DRAWN_MARK);
    });
    return () => cancelAnimationFrame(frame);
  }, [nodes, edges]);
}

export function useEditingHandlers(
  editing: GraphEditing,
  layout: Layout
): {
  onNodeDragStop: (_: unknown, __: unknown, dragged: StepNodeType[]) => void;
  onConnect: (connection: Connection) => void;
  onDelete: (deleted: { nodes: StepNodeType[]; edges: Edge[] }) => void;
} {
  const layoutRef = useRef(layout);
  layoutRef.current = layout;
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
  return { onNodeDragStop, onConnect, onDelete };
}
