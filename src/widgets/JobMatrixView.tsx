/** A job's results matrix in a main-area tab, kept current from the job's events. */
import { MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import { Event } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';
import React, { useEffect, useState } from 'react';

import { OrchestApi } from '../api';
import { JobMatrixActions, JobMatrixTable } from '../components/JobMatrix';
import { TranslationContext } from '../components/translation';
import { JobMatrix } from '../model/matrix';
import { Throttle } from '../model/throttle';
import { JOB_STATUS_SCHEMA, jobsIcon } from './JobsPanel';

interface MatrixState {
  matrix: JobMatrix | null;
  error: string | null;
}

/** How long after an event of the job the matrix reloads: at most once in this time while
 * its runs keep starting and finishing. */
const REFRESH_DELAY_MS = 1000;

/** The matrix of one job: fetched, and fetched again (at most once a second) on its events. */
export class JobMatrixModel {
  constructor(
    private readonly api: OrchestApi,
    readonly jobId: string,
    private readonly events: Event.Stream
  ) {
    events.connect(this.onEvent, this);
  }

  get changed(): ISignal<this, MatrixState> {
    return this._changed;
  }

  get state(): MatrixState {
    return this._state;
  }

  async refresh(): Promise<void> {
    try {
      const matrix = await this.api.jobMatrix(this.jobId);
      this.set({ matrix, error: null });
    } catch (err) {
      this.set({ error: (err as Error).message });
    }
  }

  dispose(): void {
    this.disposed = true;
    this.refreshes.cancel();
    this.events.disconnect(this.onEvent, this);
  }

  private onEvent(_: unknown, event: Event.Emission): void {
    const mine =
      event.schema_id === JOB_STATUS_SCHEMA && event.job_id === this.jobId;
    if (mine) {
      this.refreshes.request();
    }
  }

  private set(patch: Partial<MatrixState>): void {
    if (!this.disposed) {
      this._state = { ...this._state, ...patch };
      this._changed.emit(this._state);
    }
  }

  private _state: MatrixState = { matrix: null, error: null };
  private readonly _changed = new Signal<this, MatrixState>(this);
  private readonly refreshes = new Throttle(
    () => void this.refresh(),
    REFRESH_DELAY_MS
  );
  private disposed = false;
}

function MatrixView({
  model,
  actions
}: {
  model: JobMatrixModel;
  actions: JobMatrixActions;
}): JSX.Element {
  const [state, setState] = useState(model.state);
  useEffect(() => {
    const onChange = (_: JobMatrixModel, next: MatrixState) => setState(next);
    model.changed.connect(onChange);
    setState(model.state);
    return () => {
      model.changed.disconnect(onChange);
    };
  }, [model]);
  return (
    <JobMatrixTable
      matrix={state.matrix}
      error={state.error}
      actions={actions}
    />
  );
}

/** Let the browser save `text` as a file called `fileName`. */
function download(text: string, fileName: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.click();
  URL.revokeObjectURL(url);
}

export class JobMatrixView extends ReactWidget {
  constructor(
    readonly model: JobMatrixModel,
    private readonly openRun: (runId: string) => void,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-orchest-JobMatrix');
  }

  render(): JSX.Element {
    const actions: JobMatrixActions = {
      openRun: this.openRun,
      exportCsv: (csv, fileName) => download(csv, fileName, 'text/csv'),
      refresh: () => void this.model.refresh()
    };
    return (
      <TranslationContext.Provider value={this.trans}>
        <MatrixView model={this.model} actions={actions} />
      </TranslationContext.Provider>
    );
  }
}

/** The tab of one job's matrix, titled by the job once it is loaded. */
export function jobMatrixWidget(
  content: JobMatrixView,
  trans: TranslationBundle
): MainAreaWidget<JobMatrixView> {
  const widget = new MainAreaWidget({ content });
  const { model } = content;
  widget.id = `orchest-job-matrix-${model.jobId}`;
  widget.title.icon = jobsIcon;
  widget.title.closable = true;
  widget.title.label = trans.__('Job matrix');
  model.changed.connect((_, state) => {
    if (state.matrix) {
      widget.title.label = trans.__('%1 · matrix', state.matrix.job_name);
    }
  });
  widget.disposed.connect(() => model.dispose());
  return widget;
}
