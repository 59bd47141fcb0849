/** What the pipeline view's keyboard commands do to the drawn graph: delete the selection,
 * select every step. Rendered inside the graph's React Flow provider. */
import { useReactFlow, useStoreApi } from '@xyflow/react';
import { useEffect } from 'react';

export interface GraphCommands {
  /** Delete the selected steps and connections (as React Flow's own Delete would). */
  deleteSelection(): void;
  selectAll(): void;
}

export function GraphCommandsBridge({
  register
}: {
  register: (commands: GraphCommands | null) => void;
}): null {
  const flow = useReactFlow();
  const store = useStoreApi();
  useEffect(() => {
    register({
      deleteSelection: () => {
        const { nodes, edges } = store.getState();
        void flow.deleteElements({
          nodes: nodes.filter(node => node.selected),
          edges: edges.filter(edge => edge.selected)
        });
        store.setState({ nodesSelectionActive: false });
      },
      selectAll: () => {
        const { nodes, addSelectedNodes } = store.getState();
        addSelectedNodes(nodes.map(node => node.id));
      }
    });
    return () => register(null);
  }, [flow, store, register]);
  return null;
}
