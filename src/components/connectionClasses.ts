/**
 * The classes React Flow's `Handle` sets while a connection is made (`connectingfrom`,
 * `connectingto`, `valid`, `clickconnecting`), kept on the few handles concerned by one
 * store listener instead of one subscription (and re-render) per handle.
 *
 * Left out on purpose: `Handle` also drops `connectionindicator` (pointer events, crosshair
 * cursor) from every handle of the dragged type while a connection is dragged. Toggling it
 * restyles all of them (500 in a 500-step pipeline, 5-12 ms at the start and again at
 * the end of every drag). Here such a handle keeps its cursor and a release over it
 * connects nothing (strict mode connects a source only to a target), where `Handle` would
 * look past it for a target within the connection radius.
 */
import { ReactFlowState, useStoreApi } from '@xyflow/react';
import { useEffect } from 'react';

interface HandleRef {
  nodeId: string;
  id?: string | null;
  type: string;
}

function handleSelector(rfId: string, handle: HandleRef): string {
  const id = `${rfId}-${handle.nodeId}-${handle.id ?? null}-${handle.type}`;
  return `.react-flow__handle[data-id="${id}"]`;
}

/** Each class a handle should carry now, with the selector of that handle. */
export function connectionClasses(state: ReactFlowState): Map<string, string> {
  const { connection, connectionClickStartHandle: click, rfId } = state;
  const classes = new Map<string, string>();
  if (connection.inProgress) {
    classes.set('connectingfrom', handleSelector(rfId, connection.fromHandle));
    if (connection.toHandle) {
      const to = handleSelector(rfId, connection.toHandle);
      classes.set('connectingto', to);
      if (connection.isValid) {
        classes.set('valid', to);
      }
    }
  }
  if (click) {
    classes.set('clickconnecting', handleSelector(rfId, click));
  }
  return classes;
}

export function useConnectionClasses(): void {
  const store = useStoreApi();
  useEffect(() => {
    let applied = new Map<string, string>();
    const sync = (state: ReactFlowState) => {
      const root = state.domNode;
      if (!root) {
        return;
      }
      const wanted = connectionClasses(state);
      for (const [name, selector] of applied) {
        if (wanted.get(name) !== selector) {
          root.querySelector(selector)?.classList.remove(name);
        }
      }
      for (const [name, selector] of wanted) {
        if (applied.get(name) !== selector) {
          root.querySelector(selector)?.classList.add(name);
        }
      }
      applied = wanted;
    };
    return store.subscribe((state, previous) => {
      if (
        state.connection !== previous.connection ||
        state.connectionClickStartHandle !== previous.connectionClickStartHandle
      ) {
        sync(state);
      }
    });
  }, [store]);
}
