/** What flows along an arrow: hovering an edge shows what its parent passed on in the run
 * the view shows (its outputs with previews); a click keeps the preview open. */
import { Edge, EdgeMouseHandler } from '@xyflow/react';
import React, {
  RefObject,
  useCallback,
  useMemo,
  useRef,
  useState
} from 'react';

import { OrchestApi } from '../api';
import { PipelineGraph } from '../model/pipeline';
import { RunState, TERMINAL } from '../model/runState';
import { OutputsView } from './OutputPreview';
import { useTranslation } from './translation';
import { useStepOutputs } from './useStepOutputs';

/** How long a hovered (not clicked) preview stays after the pointer leaves the edge, so that
 * the pointer can move onto it. */
const HIDE_DELAY_MS = 250;
const SHORT_ID = 8;

export interface ShownEdge {
  source: string;
  target: string;
  /** Where the pointer was, relative to the graph's box, and the box's size. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Clicked: it stays until closed, a click on the pane or on another edge. */
  pinned: boolean;
}

export interface EdgePreviewHandlers {
  shown: ShownEdge | null;
  onEdgeMouseEnter: EdgeMouseHandler<Edge>;
  onEdgeMouseLeave: EdgeMouseHandler<Edge>;
  onEdgeClick: EdgeMouseHandler<Edge>;
  /** The pointer is on the preview: keep it. */
  hold: () => void;
  /** The pointer left the preview. */
  release: () => void;
  close: () => void;
}

/** The edge whose preview is shown, and the handlers that show and hide it. */
export function useEdgePreview(
  container: RefObject<HTMLDivElement>
): EdgePreviewHandlers {
  const [shown, setShown] = useState<ShownEdge | null>(null);
  const timer = useRef<number | undefined>(undefined);
  const at = useCallback(
    (event: React.MouseEvent, edge: Edge, pinned: boolean): ShownEdge => {
      const box = container.current?.getBoundingClientRect();
      return {
        source: edge.source,
        target: edge.target,
        x: event.clientX - (box?.left ?? 0),
        y: event.clientY - (box?.top ?? 0),
        width: box?.width ?? 0,
        height: box?.height ?? 0,
        pinned
      };
    },
    [container]
  );
  // stable handlers: React Flow redraws its edges when they change
  const handlers = useMemo((): Omit<EdgePreviewHandlers, 'shown'> => {
    const hold = () => window.clearTimeout(timer.current);
    const release = () => {
      hold();
      timer.current = window.setTimeout(
        () => setShown(current => (current?.pinned ? current : null)),
        HIDE_DELAY_MS
      );
    };
    return {
      hold,
      release,
      close: () => {
        hold();
        setShown(null);
      },
      onEdgeMouseEnter: (event, edge) => {
        hold();
        setShown(current =>
          current?.pinned ? current : at(event, edge, false)
        );
      },
      onEdgeMouseLeave: () => release(),
      onEdgeClick: (event, edge) => {
        hold();
        setShown(at(event, edge, true));
      }
    };
  }, [at]);
  return useMemo(() => ({ ...handlers, shown }), [handlers, shown]);
}

function PreviewBody({
  api,
  graph,
  run,
  source
}: {
  api: OrchestApi;
  graph: PipelineGraph;
  run: RunState | null;
  source: string;
}): JSX.Element {
  const trans = useTranslation();
  const step = run?.steps[source];
  const ended = step !== undefined && TERMINAL.has(step.status);
  const { outputs, error } = useStepOutputs(
    api,
    run?.id ?? null,
    source,
    ended
  );
  const title = graph.steps.find(s => s.uuid === source)?.title ?? source;
  if (!run) {
    return (
      <div className="jp-orchest-empty">
        {trans.__('Run the pipeline to see what %1 passes on.', title)}
      </div>
    );
  }
  if (!step) {
    return (
      <div className="jp-orchest-empty">
        {trans.__('%1 is not part of the shown run.', title)}
      </div>
    );
  }
  if (!ended) {
    return (
      <div className="jp-orchest-empty">
        {trans.__('%1 has not ended in the shown run.', title)}
      </div>
    );
  }
  if (error) {
    return <div className="jp-orchest-inline-error">{error}</div>;
  }
  return outputs ? (
    <OutputsView outputs={outputs} />
  ) : (
    <div className="jp-orchest-empty">{trans.__('Loading…')}</div>
  );
}

/** Beside the pointer, towards the larger part of the graph's box (so it stays inside). */
function placement(shown: ShownEdge): React.CSSProperties {
  const gap = 12;
  return {
    ...(shown.x > shown.width / 2
      ? { right: shown.width - shown.x + gap }
      : { left: shown.x + gap }),
    ...(shown.y > shown.height / 2
      ? { bottom: shown.height - shown.y + gap }
      : { top: shown.y + gap })
  };
}

/** The preview box of the shown edge, next to where the pointer was. */
export function EdgePreview({
  api,
  graph,
  run,
  handlers
}: {
  api: OrchestApi;
  graph: PipelineGraph;
  run: RunState | null;
  handlers: EdgePreviewHandlers;
}): JSX.Element | null {
  const trans = useTranslation();
  const { shown } = handlers;
  if (!shown) {
    return null;
  }
  const title = (uuid: string) =>
    graph.steps.find(step => step.uuid === uuid)?.title ?? uuid;
  return (
    <div
      className="jp-orchest-edge-preview"
      data-edge-preview={`${shown.source}->${shown.target}`}
      data-pinned={shown.pinned}
      style={placement(shown)}
      onMouseEnter={handlers.hold}
      onMouseLeave={() => !shown.pinned && handlers.release()}
    >
      <div className="jp-orchest-edge-preview-head">
        <span>
          {run
            ? trans.__(
                'What %1 passed to %2 (run %3)',
                title(shown.source),
                title(shown.target),
                run.id.slice(0, SHORT_ID)
              )
            : trans.__(
                'What %1 passes to %2',
                title(shown.source),
                title(shown.target)
              )}
        </span>
        {shown.pinned && (
          <button
            type="button"
            className="jp-orchest-linkbutton"
            data-action="close-edge-preview"
            title={trans.__('Close')}
            onClick={handlers.close}
          >
            ×
          </button>
        )}
      </div>
      <PreviewBody api={api} graph={graph} run={run} source={shown.source} />
    </div>
  );
}
