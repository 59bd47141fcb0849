/** The run shown on the graph, kept live from the event bus, and the pipeline's run history. */
import { OrchestApi, RunSummary } from '../api';
import { OrchestEvents } from '../events';
import {
  applyBuildEvent,
  BuildEvent,
  Builds,
  withBuilds
} from '../model/environmentBuild';
import { RunState, RunTracker, StatusEvent, TERMINAL } from '../model/runState';
import { ViewStore } from './viewStore';

/** Runs the history loads at a time. */
export const RUNS_PAGE = 50;

/** Seconds without an event while the shown run is active before the view resyncs. */
const STALL_SECONDS = 10;

export class RunFollower {
  constructor(
    private readonly api: OrchestApi,
    private readonly events: OrchestEvents,
    private readonly store: ViewStore,
    /** The pipeline file's path relative to the root (its runs are listed by it). */
    private readonly path: () => string
  ) {
    this.tracker = new RunTracker(
      id => this.api.getRun(id),
      run => this.onRunChanged(run),
      missed => {
        if (missed) {
          this.store.update({
            notice: this.store.trans.__(
              'Live updates were interrupted; the view was resynced from the server.'
            )
          });
        }
      },
      err =>
        this.store.update({
          error: this.store.trans.__('Cannot refresh the run: %1', err.message)
        })
    );
    events.status.connect(this.onStatusEvent, this);
    events.build.connect(this.onBuildEvent, this);
    document.addEventListener('visibilitychange', this.onVisible);
  }

  dispose(): void {
    this.events.status.disconnect(this.onStatusEvent, this);
    this.events.build.disconnect(this.onBuildEvent, this);
    this.clearStallTimer();
    if (this._runsTimer !== null) {
      window.clearTimeout(this._runsTimer);
    }
    document.removeEventListener('visibilitychange', this.onVisible);
  }

  /** Whether the shown run can still be aborted. */
  get canAbort(): boolean {
    const run = this.store.state.run;
    return run !== null && !TERMINAL.has(run.status);
  }

  async abort(): Promise<void> {
    const run = this.store.state.run;
    if (!run || TERMINAL.has(run.status)) {
      return;
    }
    await this.store.call(async () =>
      this.tracker.show(await this.api.abortRun(run.id))
    );
  }

  /** Show one run of the history on the graph. */
  async showRun(runId: string): Promise<void> {
    await this.store.call(async () =>
      this.tracker.show(await this.api.getRun(runId))
    );
  }

  /** A run just started from this view: show it and put it first in the history. */
  started(run: RunSummary): void {
    this.tracker.show(run);
    const { runs, runsTotal } = this.store.state;
    if (!runs.some(known => known.id === run.id)) {
      this.store.update({ runs: [run, ...runs], runsTotal: runsTotal + 1 });
    }
    this.scheduleRefresh();
  }

  /** Re-read the run history (newest first); `follow` also shows the newest run. */
  async refresh(follow = false): Promise<void> {
    await this.store.call(async () => {
      const shown = Math.max(RUNS_PAGE, this.store.state.runs.length);
      const { runs, total } = await this.api.listRuns(this.path(), shown);
      this.store.update({ runs, runsTotal: total });
      const newest = runs[0];
      const activeNewer = newest !== undefined && !TERMINAL.has(newest.status);
      if (
        (follow || activeNewer) &&
        newest &&
        newest.id !== this.store.state.run?.id
      ) {
        this.tracker.show(await this.api.getRun(newest.id));
      }
    });
  }

  /** Add the next page of older runs to the history. */
  async loadMore(): Promise<void> {
    await this.store.call(async () => {
      const known = this.store.state.runs;
      const { runs, total } = await this.api.listRuns(
        this.path(),
        RUNS_PAGE,
        known.length
      );
      const ids = new Set(known.map(run => run.id));
      this.store.update({
        runs: [...known, ...runs.filter(run => !ids.has(run.id))],
        runsTotal: total
      });
    });
  }

  private onStatusEvent(_: OrchestEvents, event: StatusEvent): void {
    const outcome = this.tracker.handle(event);
    if (outcome === 'applied' || outcome === 'gap') {
      this.resetStallTimer();
      if (!event.step_uuid && TERMINAL.has(event.status)) {
        this.scheduleRefresh();
      }
      return;
    }
    const { runs, pipelineUuid } = this.store.state;
    const known = runs.some(run => run.id === event.run_id);
    const startingRun = !event.step_uuid && !TERMINAL.has(event.status);
    if (
      outcome === 'other-run' &&
      event.pipeline_uuid === pipelineUuid &&
      (!known || startingRun)
    ) {
      this.scheduleRefresh(true);
    }
  }

  /** A step of the shown run waits for its environment's build, or is done waiting. */
  private onBuildEvent(_: OrchestEvents, event: BuildEvent): void {
    const run = this.tracker.state;
    if (run?.id !== event.run_id) {
      return;
    }
    this.builds = applyBuildEvent(this.builds, event);
    this.store.update({ run: withBuilds(run, this.builds) });
  }

  private onRunChanged(run: RunState | null): void {
    if (run?.id !== this.buildsOf) {
      this.builds = {};
      this.buildsOf = run?.id ?? null;
    }
    this.store.update({ run: run && withBuilds(run, this.builds) });
    if (run && !TERMINAL.has(run.status)) {
      this.resetStallTimer();
    } else {
      this.clearStallTimer();
    }
  }

  /** While the shown run is active, a quiet event stream means events may have been lost. */
  private resetStallTimer(): void {
    this.clearStallTimer();
    const run = this.store.state.run;
    if (this.store.disposed || !run || TERMINAL.has(run.status)) {
      return;
    }
    this._stallTimer = window.setTimeout(() => {
      this._stallTimer = null;
      void this.tracker.resync().then(() => this.resetStallTimer());
    }, STALL_SECONDS * 1000);
  }

  private clearStallTimer(): void {
    if (this._stallTimer !== null) {
      window.clearTimeout(this._stallTimer);
      this._stallTimer = null;
    }
  }

  private onVisible = (): void => {
    if (document.visibilityState === 'visible' && this.canAbort) {
      void this.tracker.resync();
    }
  };

  /** Refresh the history soon, once for a burst of events (a new run may follow). */
  private scheduleRefresh(follow = false): void {
    this._followNext = this._followNext || follow;
    if (this._runsTimer !== null) {
      return;
    }
    this._runsTimer = window.setTimeout(() => {
      this._runsTimer = null;
      const followNow = this._followNext;
      this._followNext = false;
      void this.refresh(followNow);
    }, 200);
  }

  private readonly tracker: RunTracker;
  /** The environment builds steps of the shown run wait for. */
  private builds: Builds = {};
  private buildsOf: string | null = null;
  private _stallTimer: number | null = null;
  private _runsTimer: number | null = null;
  private _followNext = false;
}
