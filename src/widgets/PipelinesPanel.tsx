/** The left-side Pipelines panel: every pipeline file under the root with its last run. */
import { ReactWidget } from '@jupyterlab/apputils';
import { Contents } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import React, { useEffect, useState } from 'react';

import { OrchestApi, PipelineFile } from '../api';
import { OrchestEvents } from '../events';
import { formatTime } from '../model/format';
import { Throttle } from '../model/throttle';
import { pipelineIcon } from '../icons';
import { TranslationContext, useTranslation } from '../components/translation';

const PIPELINE_FILE = /\.(orchest|pipeline)$/;

interface ListState {
  pipelines: PipelineFile[];
  error: string | null;
  loading: boolean;
  truncated: boolean;
}

/** Loads the list; reloads (at most every 300 ms) on run events and pipeline file changes. */
class PipelineList {
  constructor(
    private readonly api: OrchestApi,
    events: OrchestEvents,
    contents: Contents.IManager
  ) {
    events.status.connect((_, event) => {
      if (!event.step_uuid) {
        this.refreshSoon();
      }
    });
    contents.fileChanged.connect((_, change) => {
      const paths = [change.newValue?.path, change.oldValue?.path];
      if (paths.some(p => p && PIPELINE_FILE.test(p))) {
        this.refreshSoon();
      }
    });
  }

  readonly changed = new Signal<this, ListState>(this);
  state: ListState = {
    pipelines: [],
    error: null,
    loading: false,
    truncated: false
  };

  async refresh(): Promise<void> {
    this.set({ loading: true });
    try {
      const { pipelines, truncated } = await this.api.listPipelines();
      this.set({ pipelines, truncated, error: null, loading: false });
    } catch (err) {
      this.set({ error: (err as Error).message, loading: false });
    }
  }

  /** Reload at most every 300 ms while run events or file changes keep coming. */
  refreshSoon(): void {
    this._refresh.request();
  }

  private set(patch: Partial<ListState>): void {
    this.state = { ...this.state, ...patch };
    this.changed.emit(this.state);
  }

  private readonly _refresh = new Throttle(() => void this.refresh(), 300);
}

function PipelineListView({
  list,
  open
}: {
  list: PipelineList;
  open: (path: string) => void;
}): JSX.Element {
  const trans = useTranslation();
  const [state, setState] = useState(list.state);
  useEffect(() => {
    const onChange = (_: PipelineList, next: ListState) => setState(next);
    list.changed.connect(onChange);
    void list.refresh();
    return () => {
      list.changed.disconnect(onChange);
    };
  }, [list]);
  return (
    <div className="jp-orchest-PipelinesPanel-body">
      <div className="jp-orchest-panel-header">
        <span className="jp-orchest-panel-title">{trans.__('Pipelines')}</span>
        <button
          type="button"
          className="jp-orchest-iconbutton"
          title={trans.__('Refresh')}
          data-command="orchest:refresh-pipelines"
          onClick={() => void list.refresh()}
        >
          <refreshIcon.react tag="span" />
        </button>
      </div>
      {state.error && (
        <div className="jp-orchest-inline-error">{state.error}</div>
      )}
      {!state.error && !state.loading && state.pipelines.length === 0 && (
        <div className="jp-orchest-empty">
          {trans.__('No *.orchest or *.pipeline files under the root.')}
        </div>
      )}
      <ul className="jp-orchest-pipeline-list">
        {state.pipelines.map(pipeline => {
          const status = pipeline.last_run?.status ?? '';
          return (
            <li
              key={pipeline.path}
              data-pipeline-path={pipeline.path}
              data-status={status}
              title={pipeline.error ?? pipeline.path}
              onClick={() => open(pipeline.path)}
            >
              <pipelineIcon.react
                tag="span"
                className="jp-orchest-pipeline-icon"
              />
              <span className="jp-orchest-pipeline-name">
                <span className="jp-orchest-pipeline-title">
                  {pipeline.name}
                </span>
                <span className="jp-orchest-pipeline-path">
                  {pipeline.path}
                </span>
              </span>
              {pipeline.error || pipeline.issues ? (
                <span
                  className="jp-orchest-badge jp-orchest-status-failure"
                  title={pipeline.error ?? ''}
                >
                  {pipeline.error
                    ? trans.__('invalid')
                    : trans._n('%1 issue', '%1 issues', pipeline.issues ?? 0)}
                </span>
              ) : null}
              {status && (
                <span
                  className={`jp-orchest-badge jp-orchest-status-${status.toLowerCase()}`}
                  title={trans.__(
                    'Last run: %1',
                    formatTime(pipeline.last_run?.created_time)
                  )}
                >
                  {status}
                </span>
              )}
            </li>
          );
        })}
      </ul>
      {state.truncated && (
        <div className="jp-orchest-empty">
          {trans.__('Only the first 2,000 files are listed.')}
        </div>
      )}
    </div>
  );
}

export class PipelinesPanel extends ReactWidget {
  constructor(
    api: OrchestApi,
    events: OrchestEvents,
    contents: Contents.IManager,
    private readonly open: (path: string) => void,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.id = 'orchest-pipelines';
    this.addClass('jp-orchest-PipelinesPanel');
    this.title.icon = pipelineIcon;
    this.title.caption = trans.__('Pipelines');
    this.list = new PipelineList(api, events, contents);
  }

  refresh(): Promise<void> {
    return this.list.refresh();
  }

  render(): JSX.Element {
    return (
      <TranslationContext.Provider value={this.trans}>
        <PipelineListView list={this.list} open={this.open} />
      </TranslationContext.Provider>
    );
  }

  private readonly list: PipelineList;
}
