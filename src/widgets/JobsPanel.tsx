/** The left-side Jobs panel: jobs with their schedules and runs, live from job events. */
import {
  Dialog,
  MainAreaWidget,
  ReactWidget,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { Event } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import React, { useEffect, useState } from 'react';

import { Job, JobRun, OrchestApi } from '../api';
import { Throttle } from '../model/throttle';
import {
  defaultJobsFormValues,
  JobsForm,
  JobsFormValues,
  jobRequestFromForm
} from '../components/JobsForm';
import {
  JobRunStep,
  JobsList,
  JobsListActions,
  JobsListState
} from '../components/JobsList';
import { TranslationContext } from '../components/translation';
/** A calendar: the Jobs panel's tab. */
export const jobsIcon = new LabIcon({
  name: 'orchest-ext:jobs',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<g class="jp-icon3" fill="#616161"><path d="M19 4h-1V2h-2v2H8V2H6v2H5a2 2 0 0 0-2 2v14a2 ' +
    '2 0 0 0 2 2h14a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2zm0 16H5V9h14zM7 11h5v5H7z"/></g></svg>'
});

export const JOB_STATUS_SCHEMA = 'https://orchest-ext.dev/events/job_status/v1';

/** How long after a job event the panel reloads: at most once in this time while events
 * keep coming. */
const REFRESH_DELAY_MS = 1000;

/** The panel's state: reloads on job events, at most once a second. */
class JobsModel {
  constructor(
    private readonly api: OrchestApi,
    events: Event.Stream
  ) {
    events.connect((_, event) => {
      if (event.schema_id === JOB_STATUS_SCHEMA) {
        this.refreshes.request();
      }
    });
  }

  readonly changed = new Signal<this, JobsListState>(this);
  state: JobsListState = {
    jobs: [],
    error: null,
    loading: false,
    openJob: null,
    runs: [],
    openRun: null,
    steps: []
  };

  async refresh(): Promise<void> {
    this.set({ loading: true });
    try {
      const { jobs } = await this.api.listJobs();
      const open = jobs.some(job => job.id === this.state.openJob)
        ? this.state.openJob
        : null;
      const runs = open ? (await this.api.getJob(open)).runs : [];
      const openRun = runs.some(run => run.id === this.state.openRun)
        ? this.state.openRun
        : null;
      const steps = openRun
        ? ((await this.api.getRun(openRun)).steps ?? [])
        : [];
      this.set({
        jobs,
        openJob: open,
        runs,
        openRun,
        steps,
        error: null,
        loading: false
      });
    } catch (err) {
      this.set({ error: (err as Error).message, loading: false });
    }
  }

  async toggle(jobId: string): Promise<void> {
    const open = this.state.openJob === jobId ? null : jobId;
    this.set({ openJob: open, runs: [] });
    if (open) {
      await this.refresh();
    }
  }

  async toggleRun(runId: string): Promise<void> {
    const open = this.state.openRun === runId ? null : runId;
    this.set({ openRun: open, steps: [] });
    if (open) {
      await this.refresh();
    }
  }

  private set(patch: Partial<JobsListState>): void {
    this.state = { ...this.state, ...patch };
    this.changed.emit(this.state);
  }

  private readonly refreshes = new Throttle(
    () => void this.refresh(),
    REFRESH_DELAY_MS
  );
}

/** Dialog body holding the form's values. */
class JobsFormBody extends ReactWidget {
  constructor(
    private values: JobsFormValues,
    private readonly trans: TranslationBundle
  ) {
    super();
  }

  getValue(): JobsFormValues {
    return this.values;
  }

  render(): JSX.Element {
    return (
      <TranslationContext.Provider value={this.trans}>
        <JobsForm
          initial={this.values}
          onChange={values => (this.values = values)}
        />
      </TranslationContext.Provider>
    );
  }
}

/** Ask for a job's schedule and grid, then create it; the created job or null. */
export async function createJobDialog(
  api: OrchestApi,
  pipelinePath: string,
  trans: TranslationBundle
): Promise<Job | null> {
  const stem =
    pipelinePath
      .split('/')
      .pop()
      ?.replace(/\.[^.]+$/, '') ?? '';
  let values = defaultJobsFormValues(stem);
  for (;;) {
    const result = await showDialog({
      title: trans.__('New job of %1', pipelinePath),
      body: new JobsFormBody(values, trans),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Create') })
      ]
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    values = result.value;
    try {
      return await api.createJob(jobRequestFromForm(pipelinePath, values));
    } catch (err) {
      await showErrorMessage(
        trans.__('Cannot create the job'),
        (err as Error).message
      );
    }
  }
}

function JobsView({
  model,
  actions
}: {
  model: JobsModel;
  actions: JobsListActions;
}): JSX.Element {
  const [state, setState] = useState(model.state);
  useEffect(() => {
    const onChange = (_: JobsModel, next: JobsListState) => setState(next);
    model.changed.connect(onChange);
    void model.refresh();
    return () => {
      model.changed.disconnect(onChange);
    };
  }, [model]);
  return <JobsList state={state} actions={actions} />;
}

export interface JobsPanelDeps {
  api: OrchestApi;
  events: Event.Stream;
  /** The pipeline a new job is of (the current pipeline tab), or null. */
  currentPipeline: () => string | null;
  /** Open a notebook step's executed notebook. */
  openNotebook: (runId: string, stepUuid: string) => Promise<void>;
  /** Open a run's own pipeline as it ran (`orchest:open-run`). */
  openRun: (runId: string) => Promise<void>;
  /** Open a job's results matrix (`orchest:open-job-matrix`). */
  openMatrix: (jobId: string) => Promise<void>;
  /** Show a widget in the main area. */
  addToMain: (widget: Widget) => void;
  /** The extension's strings in the user's language. */
  trans: TranslationBundle;
}

/** A step's log, read-only. */
class StepLogView extends Widget {
  constructor(text: string) {
    super();
    this.addClass('jp-orchest-JobStepLog');
    const pre = document.createElement('pre');
    pre.textContent = text;
    pre.style.padding = '8px 16px';
    this.node.appendChild(pre);
    this.node.style.overflow = 'auto';
  }
}

export class JobsPanel extends ReactWidget {
  constructor(private readonly deps: JobsPanelDeps) {
    super();
    this.id = 'orchest-jobs';
    this.addClass('jp-orchest-PipelinesPanel');
    this.addClass('jp-orchest-JobsPanel');
    this.title.icon = jobsIcon;
    this.title.caption = deps.trans.__('Pipeline jobs');
    this.model = new JobsModel(deps.api, deps.events);
  }

  refresh(): Promise<void> {
    return this.model.refresh();
  }

  /** Create a job of a pipeline (root-relative path) with the dialog. */
  async create(pipelinePath: string | null): Promise<void> {
    const { trans } = this.deps;
    if (!pipelinePath) {
      await showErrorMessage(
        trans.__('No pipeline'),
        trans.__(
          'Open a pipeline (or select a pipeline file) to create a job of it.'
        )
      );
      return;
    }
    if (await createJobDialog(this.deps.api, pipelinePath, trans)) {
      await this.model.refresh();
    }
  }

  render(): JSX.Element {
    const { api, trans } = this.deps;
    const failed = (what: string) => (err: Error) =>
      void showErrorMessage(what, err.message);
    const actions: JobsListActions = {
      refresh: () => void this.model.refresh(),
      create: () => void this.create(this.deps.currentPipeline()),
      toggle: jobId => void this.model.toggle(jobId),
      pause: (job, paused) =>
        void api
          .updateJob(job.id, { paused })
          .then(
            () => this.model.refresh(),
            failed(trans.__('Cannot change the job'))
          ),
      remove: job => void this.remove(job),
      toggleRun: (run: JobRun) => void this.model.toggleRun(run.id),
      openStep: (run, step) =>
        void this.openStep(run, step).catch(
          failed(trans.__('Cannot open the step'))
        ),
      openRun: run =>
        void this.deps
          .openRun(run.id)
          .catch(failed(trans.__('Cannot open the run'))),
      openMatrix: job =>
        void this.deps
          .openMatrix(job.id)
          .catch(failed(trans.__('Cannot open the matrix')))
    };
    return (
      <TranslationContext.Provider value={this.deps.trans}>
        <JobsView model={this.model} actions={actions} />
      </TranslationContext.Provider>
    );
  }

  private async openStep(run: JobRun, step: JobRunStep): Promise<void> {
    if (step.file_path?.toLowerCase().endsWith('.ipynb')) {
      await this.deps.openNotebook(run.id, step.uuid);
      return;
    }
    const log = await this.deps.api.stepLog(run.id, step.uuid, 0);
    const content = new StepLogView(log.text);
    const widget = new MainAreaWidget({ content });
    widget.id = `orchest-job-log-${run.id}-${step.uuid}`;
    widget.title.label = this.deps.trans.__(
      '%1 log (run %2)',
      step.title,
      run.id.slice(0, 8)
    );
    widget.title.closable = true;
    this.deps.addToMain(widget);
  }

  private async remove(job: Job): Promise<void> {
    const { trans } = this.deps;
    const result = await showDialog({
      title: trans.__('Delete job %1?', job.name),
      body: trans.__(
        'Its active runs are aborted and its queued runs dropped.'
      ),
      checkbox: {
        label: trans.__('Also delete its runs and snapshot'),
        checked: false
      },
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Delete') })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      await this.deps.api.deleteJob(job.id, result.isChecked === true);
    } catch (err) {
      await showErrorMessage(
        trans.__('Cannot delete the job'),
        (err as Error).message
      );
    }
    await this.model.refresh();
  }

  private readonly model: JobsModel;
}
