/** The orchest_ext REST API (`<base_url>/orchest/api/`) as typed calls. */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { JobMatrix } from './model/matrix';
import { Comparison } from './model/compare';
import { StepOutput } from './model/outputs';
import { ApiRun, Status } from './model/runState';

export interface Issue {
  message: string;
  step?: string | null;
  field?: string | null;
}

/** An error answer of the API (or no answer at all), with the server's message. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly issues: Issue[] = []
  ) {
    super(message);
  }
}

export type RunType = 'full' | 'selection' | 'incoming' | 'descendants';

/** What a run runs: the saved file, or an editor's unsaved text of it. */
export type RunSource =
  | { pipeline_path: string }
  | {
      pipeline_description: string;
      pipeline_dir: string;
      /** The file the description is an unsaved edit of (the run is listed under it). */
      unsaved_edit_of: string;
    };

export type RunRequest = RunSource & RunOptions;

export interface RunOptions {
  run_type: RunType;
  uuids?: string[];
  inclusive?: boolean;
  backend?: string;
  failure_policy?: string;
  /** Step caching: `use` reuses the results of unchanged steps. */
  cache?: 'off' | 'use' | 'refresh';
}

export interface RunSummary extends ApiRun {
  backend?: string;
}

export interface PipelineFile {
  path: string;
  format: 'orchest' | 'elyra';
  name: string;
  uuid: string | null;
  steps: number;
  issues: number;
  error: string | null;
  last_run: RunSummary | null;
}

export interface Validation {
  valid: boolean;
  issues: Issue[];
  pipeline: { uuid: string; name: string } | null;
}

export interface StepLog {
  status: Status;
  offset: number;
  next_offset: number;
  size: number;
  text: string;
  complete: boolean;
}

export interface Launch {
  pipeline_uuid: string;
  status: 'LAUNCHING' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'FAILED';
  reason?: string | null;
  server_info?: { url?: string; token?: string; base_url?: string } | null;
}

export interface JobSchedule {
  cron?: string;
  timezone?: string;
  at?: string;
}

export type ParameterGrid = Record<string, Record<string, unknown[]>>;

export interface JobRequest {
  pipeline_path: string;
  name?: string;
  schedule?: JobSchedule;
  parameter_grid?: ParameterGrid;
  max_parallel?: number;
  retries?: number;
  overlap_policy?: 'allow' | 'skip' | 'queue';
}

export interface Job {
  id: string;
  name: string;
  status: 'ACTIVE' | 'PAUSED' | 'DONE' | 'DELETED';
  message: string | null;
  schedule: JobSchedule;
  next_fire_time: string | null;
  last_fire_time: string | null;
  pipeline_name: string;
  pipeline_path: string | null;
  snapshot_dir: string | null;
  parameter_grid: ParameterGrid;
  max_parallel: number;
  queued_runs: number;
  active_runs: number;
  created_time: string;
}

export interface JobRun extends RunSummary {
  pipeline_path?: string | null;
  fire_time: string | null;
  job_parameters: Record<string, Record<string, unknown>> | null;
}

export interface StartedRun {
  request: RunRequest;
  run: ApiRun;
}

/** Calls the API with the server's settings (base URL, token, XSRF). */
export type ExportTarget = 'airflow' | 'kfp' | 'argo';

/** `POST pipelines/export`: which engine, and where its steps find files and images. */
export interface ExportRequest {
  pipeline_path: string;
  target: ExportTarget;
  volume?: string;
  registry?: string;
  namespace?: string;
  schedule?: string;
}

export interface ExportResult {
  target: ExportTarget;
  /** The files written, relative to the server's root dir. */
  files: string[];
}

export class OrchestApi {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  async request<T>(
    path: string,
    init: RequestInit = {},
    query: Record<string, string> = {}
  ): Promise<T> {
    let url = URLExt.join(this.settings.baseUrl, 'orchest', 'api', path);
    const search = new URLSearchParams(query).toString();
    if (search) {
      url += `?${search}`;
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (err) {
      throw new ApiError(
        `The server cannot be reached: ${(err as Error).message}`,
        0
      );
    }
    const text = await response.text();
    let body: any = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
    }
    if (!response.ok) {
      const message =
        body && typeof body.message === 'string'
          ? body.message
          : `The server answered ${response.status} ${response.statusText}`;
      throw new ApiError(message, response.status, body?.issues ?? []);
    }
    return body as T;
  }

  listPipelines(): Promise<{ pipelines: PipelineFile[]; truncated: boolean }> {
    return this.request('pipelines');
  }

  validate(pipelinePath: string): Promise<Validation> {
    return this.request('pipelines/validate', {
      method: 'POST',
      body: JSON.stringify({ pipeline_path: pipelinePath })
    });
  }

  /** Validate unsaved text of a pipeline whose files are in `pipelineDir`. */
  validateText(text: string, pipelineDir: string): Promise<Validation> {
    return this.request('pipelines/validate', {
      method: 'POST',
      body: JSON.stringify({
        pipeline_description: text,
        pipeline_dir: pipelineDir
      })
    });
  }

  backends(): Promise<{ default: string; backends: string[] }> {
    return this.request('backends');
  }

  /** A run started through this client: the request and the server's answer. */
  get runStarted(): ISignal<this, StartedRun> {
    return this._runStarted;
  }

  async startRun(request: RunRequest): Promise<ApiRun> {
    const run = await this.request<ApiRun>('runs', {
      method: 'POST',
      body: JSON.stringify(request)
    });
    this._runStarted.emit({ request, run });
    return run;
  }

  getRun(runId: string): Promise<ApiRun> {
    return this.request(`runs/${encodeURIComponent(runId)}`);
  }

  abortRun(runId: string): Promise<ApiRun> {
    return this.request(`runs/${encodeURIComponent(runId)}`, {
      method: 'DELETE'
    });
  }

  /** A page of the pipeline's runs, newest first, and how many it has in all. */
  listRuns(
    pipelinePath: string,
    limit = 50,
    offset = 0
  ): Promise<{ runs: RunSummary[]; total: number }> {
    return this.request(
      'runs',
      {},
      {
        pipeline_path: pipelinePath,
        limit: String(limit),
        offset: String(offset)
      }
    );
  }

  stepLog(runId: string, stepUuid: string, offset: number): Promise<StepLog> {
    return this.request(
      `runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(stepUuid)}/log`,
      {},
      { offset: String(offset) }
    );
  }

  stepNotebook(runId: string, stepUuid: string): Promise<any> {
    return this.request(
      `runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(stepUuid)}/notebook`
    );
  }

  /** Two runs side by side, from what each stored when it ran. */
  compareRuns(a: string, b: string): Promise<Comparison> {
    return this.request('runs/compare', {}, { a, b });
  }

  /** nbdime's diff of a notebook step's executed notebooks in runs `a` and `b`: run a's
   * notebook (`base`) and the diff entries from it to run b's. */
  compareNotebooks(
    a: string,
    b: string,
    step: string
  ): Promise<{ base: any; diff: any[] }> {
    return this.request('runs/compare/notebook', {}, { a, b, step });
  }

  /** The summaries of what a step of a run passed on (`orchest.output`), as stored when
   * it ended. */
  stepOutputs(
    runId: string,
    stepUuid: string
  ): Promise<{ outputs: StepOutput[] }> {
    return this.request(
      `runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(stepUuid)}/outputs`
    );
  }

  listJobs(): Promise<{ jobs: Job[] }> {
    return this.request('jobs');
  }

  getJob(
    jobId: string,
    limit = 50
  ): Promise<Job & { runs: JobRun[]; total_runs: number }> {
    return this.request(
      `jobs/${encodeURIComponent(jobId)}`,
      {},
      { limit: String(limit) }
    );
  }

  /** The job's runs as one table: a row per combination of its grid. */
  jobMatrix(jobId: string): Promise<JobMatrix> {
    return this.request(`jobs/${encodeURIComponent(jobId)}/matrix`);
  }

  /** Write the pipeline for another engine into `<pipeline dir>/export/<target>/`. */
  exportPipeline(request: ExportRequest): Promise<ExportResult> {
    return this.request('pipelines/export', {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  createJob(request: JobRequest): Promise<Job> {
    return this.request('jobs', {
      method: 'POST',
      body: JSON.stringify(request)
    });
  }

  /** Pause (`{paused: true}`), resume or change a job. */
  updateJob(jobId: string, patch: Record<string, unknown>): Promise<Job> {
    return this.request(`jobs/${encodeURIComponent(jobId)}`, {
      method: 'PATCH',
      body: JSON.stringify(patch)
    });
  }

  deleteJob(jobId: string, removeRuns: boolean): Promise<Job> {
    return this.request(
      `jobs/${encodeURIComponent(jobId)}`,
      { method: 'DELETE' },
      { remove_runs: String(removeRuns) }
    );
  }

  /** The sessions, and whether one can be launched now (and why not). */
  listLaunches(): Promise<{
    launches: Launch[];
    available?: boolean;
    reason?: string | null;
  }> {
    return this.request('launches');
  }

  startLaunch(pipelineUuid: string, pipelineDir: string): Promise<Launch> {
    return this.request('launches', {
      method: 'POST',
      body: JSON.stringify({
        pipeline_uuid: pipelineUuid,
        pipeline_dir: pipelineDir
      })
    });
  }

  stopLaunch(pipelineUuid: string): Promise<Launch> {
    return this.request(`launches/${encodeURIComponent(pipelineUuid)}`, {
      method: 'DELETE'
    });
  }

  private _runStarted = new Signal<this, StartedRun>(this);
}
