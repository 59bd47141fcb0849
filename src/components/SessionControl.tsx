/** Start and stop the pipeline's interactive session and show its state. */
import React from 'react';

import { PipelineController, ViewState } from '../controller';
import { useTranslation } from './translation';

export function SessionControl({
  controller,
  state
}: {
  controller: PipelineController;
  state: ViewState;
}): JSX.Element {
  const status = state.launch?.status ?? '';
  const active =
    status === 'LAUNCHING' || status === 'RUNNING' || status === 'STOPPING';
  const url = state.launch?.server_info?.url;
  const unavailable = state.sessionsUnavailable;
  const trans = useTranslation();
  return (
    <span className="jp-orchest-session" data-session-status={status}>
      {status && (
        <span
          className={`jp-orchest-badge jp-orchest-session-${status.toLowerCase()}`}
          title={state.launch?.reason ?? ''}
        >
          {trans.__('Session %1', status)}
          {status === 'FAILED' && state.launch?.reason
            ? `: ${state.launch.reason}`
            : ''}
        </span>
      )}
      {status === 'RUNNING' && url && (
        <a
          className="jp-orchest-link"
          href={url}
          target="_blank"
          rel="noreferrer"
        >
          {trans.__('open')}
        </a>
      )}
      {active ? (
        <button
          type="button"
          className="jp-orchest-button"
          data-command="orchest:stop-session"
          disabled={status === 'STOPPING'}
          onClick={() => void controller.stopSession()}
        >
          {trans.__('Stop session')}
        </button>
      ) : (
        <button
          type="button"
          className="jp-orchest-button"
          data-command="orchest:start-session"
          title={
            unavailable !== null
              ? trans.__('Sessions are not available here: %1', unavailable)
              : trans.__(
                  'Start Enterprise Gateway and a Jupyter server whose kernels run in containers'
                )
          }
          data-unavailable={unavailable ?? undefined}
          disabled={!state.pipelineUuid || unavailable !== null}
          onClick={() => void controller.startSession()}
        >
          {trans.__('Start session')}
        </button>
      )}
    </span>
  );
}
