/**
 * A connection point of a step: React Flow's `Handle` without its subscription to the
 * connection state. With `Handle`, every handle of the graph (1,000 in a 500-step pipeline)
 * re-renders when a connection drag starts and again when it ends; this one renders once.
 * It keeps `Handle`'s DOM contract (classes and `data-*` attributes React Flow looks handles
 * up by) and its behaviour: a drag or two clicks connect. The classes `Handle` changes
 * during a connection are set by `useConnectionClasses` instead. Not carried over, as the
 * graph uses none of them: handle ids, per-handle `isValidConnection` / `onConnect`, the
 * `onClickConnectStart` / `onClickConnectEnd` callbacks and React Flow's default edges.
 */
import { Connection, Position, useNodeId, useStoreApi } from '@xyflow/react';
import {
  getHostForElement,
  IsValidConnection,
  isMouseEvent,
  XYHandle
} from '@xyflow/system';
import React, { createContext, memo, useContext } from 'react';

/** The React Flow settings every handle needs: the same for all, read once by the graph. */
export interface HandleConfig {
  rfId: string;
  noPanClassName: string;
  connectOnClick: boolean;
}

export const HandleConfigContext = createContext<HandleConfig>({
  rfId: '1',
  noPanClassName: 'nopan',
  connectOnClick: true
});

export interface StepHandleProps {
  type: 'source' | 'target';
  position: Position;
}

function StepHandleView({ type, position }: StepHandleProps): JSX.Element {
  const store = useStoreApi();
  const nodeId = useNodeId() as string;
  const { rfId, noPanClassName, connectOnClick } =
    useContext(HandleConfigContext);
  const isTarget = type === 'target';

  const connect = (connection: Connection) => {
    const { defaultEdgeOptions, onConnect } = store.getState();
    onConnect?.({ ...defaultEdgeOptions, ...connection });
  };

  const isValidConnection: IsValidConnection = connection =>
    store.getState().isValidConnection?.(connection) ?? true;

  const onPointerDown = (event: React.MouseEvent | React.TouchEvent) => {
    const native = event.nativeEvent;
    if (isMouseEvent(native) && native.button !== 0) {
      return;
    }
    const state = store.getState();
    XYHandle.onPointerDown(native, {
      handleDomNode: event.currentTarget,
      autoPanOnConnect: state.autoPanOnConnect,
      connectionMode: state.connectionMode,
      connectionRadius: state.connectionRadius,
      domNode: state.domNode,
      nodeLookup: state.nodeLookup,
      lib: state.lib,
      isTarget,
      handleId: null,
      nodeId,
      flowId: state.rfId,
      panBy: state.panBy,
      cancelConnection: state.cancelConnection,
      onConnectStart: state.onConnectStart,
      onConnectEnd: (...args) => store.getState().onConnectEnd?.(...args),
      updateConnection: state.updateConnection,
      onConnect: connect,
      isValidConnection,
      getTransform: () => store.getState().transform,
      getFromHandle: () => store.getState().connection.fromHandle,
      autoPanSpeed: state.autoPanSpeed,
      dragThreshold: state.connectionDragThreshold
    });
  };

  // Click-connect: a first click on a handle starts a connection, a click on another ends it.
  const onClick = (event: React.MouseEvent) => {
    const state = store.getState();
    const start = state.connectionClickStartHandle;
    if (!start) {
      store.setState({
        connectionClickStartHandle: { nodeId, type, id: null }
      });
      return;
    }
    const { connection, isValid } = XYHandle.isValid(event.nativeEvent, {
      handle: { nodeId, id: null, type },
      connectionMode: state.connectionMode,
      fromNodeId: start.nodeId,
      fromHandleId: start.id ?? null,
      fromType: start.type,
      isValidConnection,
      flowId: state.rfId,
      doc: getHostForElement(event.target as HTMLElement),
      lib: state.lib,
      nodeLookup: state.nodeLookup
    });
    if (isValid && connection) {
      connect(connection);
    }
    store.setState({ connectionClickStartHandle: null });
  };

  const classes = [
    'react-flow__handle',
    `react-flow__handle-${position}`,
    'nodrag',
    noPanClassName,
    type,
    'connectable connectablestart connectableend connectionindicator'
  ];
  return (
    <div
      className={classes.join(' ')}
      data-nodeid={nodeId}
      data-handlepos={position}
      data-id={`${rfId}-${nodeId}-null-${type}`}
      onMouseDown={onPointerDown}
      onTouchStart={onPointerDown}
      onClick={connectOnClick ? onClick : undefined}
    />
  );
}

export const StepHandle = memo(StepHandleView);
