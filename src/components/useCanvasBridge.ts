/**
 * What the controller asks of the drawn graph: screen → canvas coordinates (drops), the
 * visible area and drawn positions (new steps), a fit after Tidy up.
 */
import { useReactFlow } from '@xyflow/react';
import { RefObject, useEffect, useRef } from 'react';

import { Layout } from '../model/layout';
import { GraphEditing } from './graphHandlers';

export const FIT_VIEW = { padding: 0.15 };

export function useCanvasBridge(
  editing: GraphEditing,
  container: RefObject<HTMLDivElement>,
  layout: Layout
): void {
  const flow = useReactFlow();
  const layoutRef = useRef(layout);
  layoutRef.current = layout;
  const fitPending = useRef(false);

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
  }, [editing, flow, container]);

  useEffect(() => {
    // The first layout after Tidy up: React Flow's store has its nodes by now (its
    // effects run before this one).
    if (fitPending.current) {
      fitPending.current = false;
      void flow.fitView(FIT_VIEW);
    }
  }, [layout, flow]);
}
