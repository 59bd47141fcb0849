/** The Jobs panel's list: each job with its schedule, state and actions, and its runs. */
import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { Job, JobRun } from '../api';
import { formatTime } from '../model/format';
import { ApiRun } from '../model/runState';
import { useTranslation } from './translation';

/** A step of a job's run as the runs API shows it. */
export type JobRunStep = NonNullable<ApiRun['steps']>[number] & {
  file_path?: string;
  attempt?: number;
};

export interface JobsListState {
  jobs: Job[];
  error: string | null;
  loading: boolean;
  /** The job whose runs are shown, and its runs. */
  openJob: string | null;
  runs: JobRun[];
  /** The run whose steps are shown, with its steps. */
  openRun: string | null;
  steps: JobRunStep[];
}

export interface JobsListActions {
  refresh(): void;
  create(): void;
  toggle(jobId: string): void;
  pause(job: Job, paused: boolean): void;
  remove(job: Job): void;
  toggleRun(run: JobRun): void;
  openStep(run: JobRun, step: JobRunStep): void;
  /** The run's own pipeline as it ran, read-only, in a tab. */
  openRun(run: JobRun): void;
  /** The job's runs as one table, a row per combination, in a tab. */
  openMatrix(job: Job): void;
}

const JOB_STYLE: React.CSSProperties = {
  flexDirection: 'column',
  alignItems: 'stretch',
  gap: 2,
  padding: '6px 12px'
};
const LINE_STYLE: React.CSSProperties = {
  display: 'flex',
  alignItems: 'center',
  gap: 6
};
const NAME_STYLE: React.CSSProperties = { flex: 1, fontWeight: 600 };
const BUTTON_STYLE: React.CSSProperties = {
  fontSize: 'var(--jp-ui-font-size0)',
  padding: '1px 8px',
  height: 'auto',
  minHeight: 0,
  lineHeight: '18px'
};

function when(job: Job, trans: TranslationBundle): string {
  const { cron, timezone, at } = job.schedule;
  if (cron) {
    return timezone
      ? trans.__('cron %1 (%2)', cron, timezone)
      : trans.__('cron %1', cron);
  }
  return at ? trans.__('once at %1', formatTime(at)) : trans.__('once');
}

function parameters(run: JobRun): string {
  return Object.entries(run.job_parameters ?? {})
    .flatMap(([step, values]) =>
      Object.entries(values).map(
        ([name, value]) =>
          `${step === 'pipeline_parameters' ? '' : `${step}.`}${name}=${JSON.stringify(value)}`
      )
    )
    .join(' ');
}

function Badge({ status }: { status: string }): JSX.Element {
  return (
    <span
      className={`jp-orchest-badge jp-orchest-status-${status.toLowerCase()}`}
    >
      {status}
    </span>
  );
}

function RunsTable({
  state,
  actions
}: {
  state: JobsListState;
  actions: JobsListActions;
}): JSX.Element {
  const trans = useTranslation();
  if (state.runs.length === 0) {
    return <div className="jp-orchest-empty">{trans.__('No runs yet.')}</div>;
  }
  return (
    <table className="jp-orchest-runs">
      <tbody>
        {state.runs.map(run => (
          <React.Fragment key={run.id}>
            <tr
              data-job-run-id={run.id}
              data-status={run.status}
              title={trans.__("Show the run's steps")}
              onClick={() => actions.toggleRun(run)}
            >
              <td>
                <Badge status={run.status} />
              </td>
              <td>{formatTime(run.fire_time ?? run.created_time)}</td>
              <td>{parameters(run)}</td>
              <td>
                <button
                  type="button"
                  className="jp-orchest-linkbutton"
                  data-action="open-run"
                  title={trans.__(
                    'Open the pipeline as this run ran it (read-only)'
                  )}
                  onClick={event => {
                    event.stopPropagation();
                    actions.openRun(run);
                  }}
                >
                  {trans.__('Open')}
                </button>
              </td>
            </tr>
            {state.openRun === run.id &&
              state.steps.map(step => (
                <tr
                  key={step.uuid}
                  data-job-step={step.uuid}
                  data-status={step.status}
                  title={
                    step.message ??
                    trans.__('Open its executed notebook or log')
                  }
                  onClick={() => actions.openStep(run, step)}
                >
                  <td style={{ paddingLeft: 16 }}>
                    <Badge status={step.status} />
                  </td>
                  <td colSpan={3} style={{ paddingLeft: 16 }}>
                    {step.title}
                    {(step.attempt ?? 1) > 1
                      ? ` ${trans.__('(attempt %1)', step.attempt ?? 1)}`
                      : ''}
                  </td>
                </tr>
              ))}
          </React.Fragment>
        ))}
      </tbody>
    </table>
  );
}

export function JobsList({
  state,
  actions
}: {
  state: JobsListState;
  actions: JobsListActions;
}): JSX.Element {
  const trans = useTranslation();
  return (
    <div className="jp-orchest-JobsPanel-body">
      <div className="jp-orchest-panel-header">
        <span className="jp-orchest-panel-title">{trans.__('Jobs')}</span>
        <span>
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept"
            data-command="orchest:create-job"
            title={trans.__('Create a job of the current pipeline')}
            onClick={() => actions.create()}
          >
            {trans.__('New job')}
          </button>
          <button
            type="button"
            className="jp-orchest-iconbutton"
            title={trans.__('Refresh')}
            data-command="orchest:refresh-jobs"
            onClick={() => actions.refresh()}
          >
            <refreshIcon.react tag="span" />
          </button>
        </span>
      </div>
      {state.error && (
        <div className="jp-orchest-inline-error">{state.error}</div>
      )}
      {!state.error && !state.loading && state.jobs.length === 0 && (
        <div className="jp-orchest-empty">
          {trans.__('No jobs. Open a pipeline and choose New job.')}
        </div>
      )}
      <ul className="jp-orchest-pipeline-list">
        {state.jobs.map(job => (
          <React.Fragment key={job.id}>
            <li
              data-job-id={job.id}
              data-status={job.status}
              title={job.message ?? job.pipeline_path ?? ''}
              style={JOB_STYLE}
              onClick={() => actions.toggle(job.id)}
            >
              <span style={LINE_STYLE}>
                <span className="jp-orchest-pipeline-title" style={NAME_STYLE}>
                  {job.name}
                </span>
                <Badge status={job.status} />
              </span>
              <span className="jp-orchest-pipeline-path">
                {when(job, trans)}
                {job.next_fire_time
                  ? ` · ${trans.__('next %1', formatTime(job.next_fire_time))}`
                  : ''}
                {job.active_runs
                  ? ` · ${trans.__('%1 running', job.active_runs)}`
                  : ''}
              </span>
              <span style={LINE_STYLE}>
                {job.status !== 'DONE' && (
                  <button
                    type="button"
                    className="jp-mod-styled jp-mod-reject"
                    style={BUTTON_STYLE}
                    data-command={
                      job.status === 'PAUSED'
                        ? 'orchest:resume-job'
                        : 'orchest:pause-job'
                    }
                    onClick={e => {
                      e.stopPropagation();
                      actions.pause(job, job.status !== 'PAUSED');
                    }}
                  >
                    {job.status === 'PAUSED'
                      ? trans.__('Resume')
                      : trans.__('Pause')}
                  </button>
                )}
                <button
                  type="button"
                  className="jp-mod-styled jp-mod-reject"
                  style={BUTTON_STYLE}
                  data-command="orchest:open-job-matrix"
                  title={trans.__(
                    "The job's runs as one table, a row per parameter combination"
                  )}
                  onClick={e => {
                    e.stopPropagation();
                    actions.openMatrix(job);
                  }}
                >
                  {trans.__('Matrix')}
                </button>
                <button
                  type="button"
                  className="jp-mod-styled jp-mod-warn"
                  style={BUTTON_STYLE}
                  data-command="orchest:delete-job"
                  title={trans.__(
                    'Delete the job (its active runs are aborted)'
                  )}
                  onClick={e => {
                    e.stopPropagation();
                    actions.remove(job);
                  }}
                >
                  {trans.__('Delete')}
                </button>
              </span>
            </li>
            {state.openJob === job.id && (
              <li className="jp-orchest-job-runs" data-job-runs={job.id}>
                <RunsTable state={state} actions={actions} />
              </li>
            )}
          </React.Fragment>
        ))}
      </ul>
    </div>
  );
}
