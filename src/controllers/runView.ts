/**
 * One past (or running) run shown as it ran: the pipeline stored with the run, its statuses
 * kept live from the event bus, and how today's pipeline file differs from it.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { OrchestApi } from '../api';
import { OrchestEvents } from '../events';
import {
  applyBuildEvent,
  BuildEvent,
  Builds,
  withBuilds
} from '../model/environmentBuild';
import { PipelineGraph } from '../model/pipeline';
import {
  graphOfRun,
  PipelineChanges,
  pipelineChanges,
  ranBecause,
  RanPipeline
} from '../model/ranPipeline';
import {
  ApiRun,
  RunState,
  RunTracker,
  StatusEvent,
  TERMINAL
} from '../model/runState';

/** A step of `GET runs/{id}` with what made it run. */
interface RanStepState {
  uuid: string;
  changed?: string[] | null;
  changed_parents?: string[] | null;
}

export interface RunViewState {
  /** The pipeline the run ran; null until loaded. */
  graph: PipelineGraph | null;
  run: RunState | null;
  /** The pipeline file's path (relative to the root) the run is listed under. */
  path: string | null;
  /** What made each step run ("parameters, parents (Load)"), where the run recorded it. */
  ranBecause: Record<string, string>;
  /** How today's file differs from the run's pipeline; null until compared. */
  changes: PipelineChanges | null;
  inspected: string | null;
  error: string | null;
}

/** Today's text of a pipeline file; null when it is gone. */
export type ReadFile = (path: string) => Promise<string | null>;

/** Today's pipeline from its file's text (null: gone, or no longer a pipeline). */
export type ParseToday = (text: string, path: string) => PipelineGraph | null;

export class RunViewController {
  constructor(
    readonly api: OrchestApi,
    private readonly events: OrchestEvents,
    readonly runId: string,
    private readonly readFile: ReadFile,
    private readonly parseToday: ParseToday,
    /** The extension's strings in the user's language. */
    private readonly trans: TranslationBundle
  ) {
    this.tracker = new RunTracker(
      id => this.api.getRun(id),
      run => this.update({ run: run && withBuilds(run, this.builds) }),
      () => undefined,
      err => this.update({ error: err.message })
    );
    events.status.connect(this.onStatusEvent, this);
    events.build.connect(this.onBuildEvent, this);
  }

  get changed(): ISignal<RunViewController, RunViewState> {
    return this._changed;
  }

  get state(): RunViewState {
    return this._state;
  }

  dispose(): void {
    this.disposed = true;
    this.events.status.disconnect(this.onStatusEvent, this);
    this.events.build.disconnect(this.onBuildEvent, this);
  }

  /** A step of this run waits for its environment's build, or is done waiting. */
  private onBuildEvent(_: OrchestEvents, event: BuildEvent): void {
    const run = this.tracker.state;
    if (event.run_id !== this.runId || !run) {
      return;
    }
    this.builds = applyBuildEvent(this.builds, event);
    this.update({ run: withBuilds(run, this.builds) });
  }

  /** Fetch the run and its pipeline, then compare it with today's file. */
  async load(): Promise<void> {
    try {
      const run = await this.api.getRun(this.runId);
      this.received(run);
      await this.compare();
    } catch (err) {
      this.update({ error: (err as Error).message });
    }
  }

  /** Compare the run's pipeline with what its file holds now. */
  async compare(): Promise<void> {
    const { graph, path } = this._state;
    if (!graph) {
      return;
    }
    const text = path ? await this.readFile(path) : null;
    const today = text === null || !path ? null : this.parseToday(text, path);
    this.update({ changes: pipelineChanges(graph, today) });
  }

  inspect(uuid: string | null): void {
    this.update({ inspected: uuid });
  }

  private received(run: ApiRun): void {
    const withPipeline = run as ApiRun & { pipeline?: RanPipeline };
    const path = run.pipeline_path ?? null;
    const graph =
      this._state.graph ??
      (withPipeline.pipeline
        ? graphOfRun(withPipeline.pipeline, path ?? '')
        : null);
    const titles = new Map(graph?.steps.map(step => [step.uuid, step.title]));
    const because: Record<string, string> = {};
    for (const step of (run.steps ?? []) as RanStepState[]) {
      const text = ranBecause(
        step.changed,
        step.changed_parents,
        uuid => titles.get(uuid) ?? uuid
      );
      if (text) {
        because[step.uuid] = text;
      }
    }
    this.update({
      graph,
      path,
      ranBecause: because,
      error: graph ? null : this.trans.__('This run has no stored pipeline.')
    });
    this.tracker.show(run);
  }

  private onStatusEvent(_: OrchestEvents, event: StatusEvent): void {
    if (event.run_id !== this.runId) {
      return;
    }
    this.tracker.handle(event);
    if (TERMINAL.has(event.status)) {
      // the record of a step that ended says what made it run
      void this.api.getRun(this.runId).then(
        run => !this.disposed && this.received(run),
        () => undefined
      );
    }
  }

  private update(patch: Partial<RunViewState>): void {
    if (this.disposed) {
      return;
    }
    this._state = { ...this._state, ...patch };
    this._changed.emit(this._state);
  }

  /** The environment builds steps of this run wait for. */
  private builds: Builds = {};
  private readonly tracker: RunTracker;
  private readonly _changed = new Signal<RunViewController, RunViewState>(this);
  private _state: RunViewState = {
    graph: null,
    run: null,
    path: null,
    ranBecause: {},
    changes: null,
    inspected: null,
    error: null
  };
  private disposed = false;
}
