/**
 * The orchest_ext REST API (`<base_url>/orchest/api/`) as typed calls. Every type here is
 * the contract's (`orchest_ext/web/openapi.yaml`, generated into `src/generated/openapi.ts`
 * by `npm run build:api`); `npm test` fails when the generated file is out of date.
 */
import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  Answer,
  ApiError,
  CallOptions,
  callApi,
  Issue,
  Method,
  Path,
  Schemas
} from './apiClient';
import { JobMatrix } from './model/matrix';
import { Comparison } from './model/compare';
import { StepOutput } from './model/outputs';

export { ApiError };
export type { Issue };

export type RunType = NonNullable<Schemas['RunRequest']['run_type']>;

/** What a run runs: the saved file, or an editor's unsaved text of it. */
export type RunSource =
  | { pipeline_path: string }
  | {
      pipeline_description: string;
      pipeline_dir: string;
      /** The file the description is an unsaved edit of (the run is listed under it). */
      unsaved_edit_of: string;
    };

export type RunOptions = Pick<
  Schemas['RunRequest'],
  'uuids' | 'inclusive' | 'backend' | 'failure_policy' | 'cache'
> & { run_type: RunType };

export type RunRequest = RunSource & RunOptions;

export type RunSummary = Schemas['Run'];

export type PipelineFile = Answer<'/pipelines', 'get'>['pipelines'][number];

export type Validation = Answer<'/pipelines/validate', 'post'>;

export type StepLog = Answer<'/runs/{run_id}/steps/{step_uuid}/log', 'get'>;

export type Launch = Schemas['Launch'];

export type JobSchedule = Schemas['Schedule'];

export type ParameterGrid = Schemas['ParameterGrid'];

export type JobRequest = Schemas['JobRequest'];

export type Job = Schemas['Job'];

export type JobRun = Answer<'/jobs/{job_id}', 'get'>['runs'][number];

export interface StartedRun {
  request: RunRequest;
  run: RunSummary;
}

export type ExportTarget = Schemas['ExportRequest']['target'];

/** `POST pipelines/export`: which engine, and where its steps find files and images. */
export type ExportRequest = Schemas['ExportRequest'];

export type ExportResult = Answer<'/pipelines/export', 'post'>;

/** Calls the API with the server's settings (base URL, token, XSRF). */
export class OrchestApi {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** Call `method path` of the API, typed by the document. */
  call<P extends Path, M extends Method>(
    method: M,
    path: P,
    options: CallOptions<P, M> = {}
  ): Promise<Answer<P, M>> {
    return callApi(this.settings, method, path, options);
  }

  listPipelines(): Promise<Answer<'/pipelines', 'get'>> {
    return this.call('get', '/pipelines');
  }

  validate(pipelinePath: string): Promise<Validation> {
    return this.call('post', '/pipelines/validate', {
      body: { pipeline_path: pipelinePath }
    });
  }

  /** Validate unsaved text of a pipeline whose files are in `pipelineDir`. */
  validateText(text: string, pipelineDir: string): Promise<Validation> {
    return this.call('post', '/pipelines/validate', {
      body: { pipeline_description: text, pipeline_dir: pipelineDir }
    });
  }

  backends(): Promise<Answer<'/backends', 'get'>> {
    return this.call('get', '/backends');
  }

  /** A run started through this client: the request and the server's answer. */
  get runStarted(): ISignal<this, StartedRun> {
    return this._runStarted;
  }

  async startRun(request: RunRequest): Promise<RunSummary> {
    const run = await this.call('post', '/runs', { body: request });
    this._runStarted.emit({ request, run });
    return run;
  }

  getRun(runId: string): Promise<RunSummary> {
    return this.call('get', '/runs/{run_id}', { path: { run_id: runId } });
  }

  abortRun(runId: string): Promise<RunSummary> {
    return this.call('delete', '/runs/{run_id}', { path: { run_id: runId } });
  }

  /** A page of the pipeline's runs, newest first, and how many it has in all. */
  listRuns(
    pipelinePath: string,
    limit = 50,
    offset = 0
  ): Promise<Answer<'/runs', 'get'>> {
    return this.call('get', '/runs', {
      query: { pipeline_path: pipelinePath, limit, offset }
    });
  }

  stepLog(runId: string, stepUuid: string, offset: number): Promise<StepLog> {
    return this.call('get', '/runs/{run_id}/steps/{step_uuid}/log', {
      path: { run_id: runId, step_uuid: stepUuid },
      query: { offset }
    });
  }

  stepNotebook(runId: string, stepUuid: string): Promise<any> {
    return this.call('get', '/runs/{run_id}/steps/{step_uuid}/notebook', {
      path: { run_id: runId, step_uuid: stepUuid }
    });
  }

  /** Two runs side by side, from what each stored when it ran. */
  compareRuns(a: string, b: string): Promise<Comparison> {
    return this.call('get', '/runs/compare', { query: { a, b } });
  }

  /** nbdime's diff of a notebook step's executed notebooks in runs `a` and `b`: run a's
   * notebook (`base`) and the diff entries from it to run b's. */
  compareNotebooks(
    a: string,
    b: string,
    step: string
  ): Promise<{ base: any; diff: any[] }> {
    return this.call('get', '/runs/compare/notebook', {
      query: { a, b, step }
    });
  }

  /** The summaries of what a step of a run passed on (`orchest.output`), as stored when
   * it ended. */
  stepOutputs(
    runId: string,
    stepUuid: string
  ): Promise<{ outputs: StepOutput[] }> {
    return this.call('get', '/runs/{run_id}/steps/{step_uuid}/outputs', {
      path: { run_id: runId, step_uuid: stepUuid }
    });
  }

  listJobs(): Promise<Answer<'/jobs', 'get'>> {
    return this.call('get', '/jobs');
  }

  getJob(jobId: string, limit = 50): Promise<Answer<'/jobs/{job_id}', 'get'>> {
    return this.call('get', '/jobs/{job_id}', {
      path: { job_id: jobId },
      query: { limit }
    });
  }

  /** The job's runs as one table: a row per combination of its grid. */
  jobMatrix(jobId: string): Promise<JobMatrix> {
    return this.call('get', '/jobs/{job_id}/matrix', {
      path: { job_id: jobId }
    });
  }

  /** Write the pipeline for another engine into `<pipeline dir>/export/<target>/`. */
  exportPipeline(request: ExportRequest): Promise<ExportResult> {
    return this.call('post', '/pipelines/export', { body: request });
  }

  createJob(request: JobRequest): Promise<Job> {
    return this.call('post', '/jobs', { body: request });
  }

  /** Pause (`{paused: true}`), resume or change a job. */
  updateJob(jobId: string, patch: Schemas['JobUpdate']): Promise<Job> {
    return this.call('patch', '/jobs/{job_id}', {
      path: { job_id: jobId },
      body: patch
    });
  }

  deleteJob(jobId: string, removeRuns: boolean): Promise<Job> {
    return this.call('delete', '/jobs/{job_id}', {
      path: { job_id: jobId },
      query: { remove_runs: removeRuns ? 'true' : 'false' }
    });
  }

  /** The sessions, and whether one can be launched now (and why not). */
  listLaunches(): Promise<Answer<'/launches', 'get'>> {
    return this.call('get', '/launches');
  }

  startLaunch(pipelineUuid: string, pipelineDir: string): Promise<Launch> {
    return this.call('post', '/launches', {
      body: { pipeline_uuid: pipelineUuid, pipeline_dir: pipelineDir }
    });
  }

  stopLaunch(pipelineUuid: string): Promise<Launch> {
    return this.call('delete', '/launches/{pipeline_uuid}', {
      path: { pipeline_uuid: pipelineUuid }
    });
  }

  private _runStarted = new Signal<this, StartedRun>(this);
}
