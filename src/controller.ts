/**
 * The state and actions of one open pipeline: its graph, validation issues, the shown run
 * (kept live from the event bus), run history, selection and session. React renders it;
 * toolbar buttons and palette commands call its actions.
 */
import { ISignal, Signal } from '@lumino/signaling';

import {
  ApiError,
  Issue,
  Launch,
  OrchestApi,
  RunRequest,
  RunSource,
  RunSummary,
  RunType
} from './api';
import { GraphCommands } from './components/GraphCommands';
import { LaunchEvent, OrchestEvents } from './events';
import {
  EditablePipeline,
  FormatLimitError,
  PipelinePatch,
  StepPatch
} from './model/document';
import {
  Area,
  Layout,
  layeredLayout,
  NODE_HEIGHT,
  placeNewSteps
} from './model/layout';
import {
  graphFromJson,
  parsePipeline,
  PipelineFormatError,
  PipelineGraph,
  Position,
  stepKind
} from './model/pipeline';
import { chooseBackend, FailurePolicy, Preferences } from './model/preferences';
import { RunState, RunTracker, StatusEvent, TERMINAL } from './model/runState';
import { stepsInRun } from './model/runSteps';
import { EditHistory } from './model/history';
import {
  dirname,
  relativePath,
  renamedStepFiles,
  stepsUsing
} from './model/paths';

export type { FailurePolicy };
export type SideTab = 'step' | 'runs' | 'pipeline';

export interface ViewState {
  graph: PipelineGraph | null;
  /** Why the file cannot be shown as a pipeline (it is not one). */
  formatError: string | null;
  issues: Issue[];
  /** The last failed API call, shown in a banner until the next action. */
  error: string | null;
  notice: string | null;
  pipelineUuid: string | null;
  run: RunState | null;
  runs: RunSummary[];
  /** How many runs the pipeline has in all (`runs` holds the newest pages of them). */
  runsTotal: number;
  selected: string[];
  inspected: string | null;
  sideTab: SideTab;
  backends: string[];
  backend: string;
  failurePolicy: FailurePolicy;
  inclusive: boolean;
  launch: Launch | null;
  /** Why no session can be launched here (no Docker engine answers); null when one can. */
  sessionsUnavailable: string | null;
  starting: boolean;
  canUndo: boolean;
  canRedo: boolean;
}

/** What the controller needs from its document and the application. */
export interface PipelineHost {
  /** The file's path relative to the server's root dir. */
  path(): string;
  /** Ask about step files with unsaved changes in open editors before a run reads them:
   * save them, run the saved versions, or cancel (false). Paths relative to the pipeline. */
  settleStepFiles(filePaths: string[]): Promise<boolean>;
  /** Whether the document has unsaved changes. */
  isDirty(): boolean;
  /** Replace the document's text; `unsaved`: it differs from the file (JupyterLab's
   * save writes it). */
  setText(text: string, unsaved: boolean): void;
  /** Tell the user a change needs Orchest's format and offer a copy as `.orchest`. */
  offerOrchestCopy(reason: string, graph: PipelineGraph): Promise<void>;
  /** Let the user pick files to add as steps, starting in `directory` (relative to the root). */
  pickFiles(directory: string): Promise<string[]>;
  /** The user's settings (defaults of a newly opened view). */
  preferences(): Preferences;
}

/**
 * Performance marks (bench/ reads them): the pointer is released over the graph (the
 * user's action that ends a drag), an edit starts, the graph it changed is drawn.
 */
export const POINTERUP_MARK = 'orchest-pointerup';
export const EDIT_MARK = 'orchest-edit';
export const DRAWN_MARK = 'orchest-drawn';

/** What the drawn graph tells the controller: the visible area and where steps are drawn. */
export interface CanvasView {
  visibleArea(): Area;
  layout(): Layout;
  /** Fit the view to the graph once the graph drawn next is in place. */
  fitNext(): void;
}

/** The visible area assumed before the graph is drawn. */
const DEFAULT_AREA: Area = { x: 0, y: 0, width: 800, height: 600 };

/** Runs the history loads at a time. */
export const RUNS_PAGE = 50;

/** Seconds without an event while the shown run is active before the view resyncs. */
const STALL_SECONDS = 10;

export class PipelineController {
  constructor(
    readonly api: OrchestApi,
    private readonly events: OrchestEvents,
    private readonly host: PipelineHost
  ) {
    this.tracker = new RunTracker(
      id => this.api.getRun(id),
      run => this.onRunChanged(run),
      missed => {
        if (missed) {
          this.update({
            notice:
              'Live updates were interrupted; the view was resynced from the server.'
          });
        }
      },
      err => this.update({ error: `Cannot refresh the run: ${err.message}` })
    );
    this._state.failurePolicy = host.preferences().failurePolicy;
    events.status.connect(this.onStatusEvent, this);
    events.launch.connect(this.onLaunchEvent, this);
    document.addEventListener('visibilitychange', this.onVisible);
  }

  /** Screen → canvas coordinates, set by the drawn graph (for drops). */
  screenToFlow: ((point: Position) => Position) | null = null;
  /** The visible part of the canvas and what it draws, set by the drawn graph. */
  canvas: CanvasView | null = null;
  /** Selection actions on the drawn graph (for keyboard commands), set by the graph. */
  graphCommands: GraphCommands | null = null;

  get changed(): ISignal<this, ViewState> {
    return this._changed;
  }

  get state(): ViewState {
    return this._state;
  }

  dispose(): void {
    this._disposed = true;
    this.events.status.disconnect(this.onStatusEvent, this);
    this.events.launch.disconnect(this.onLaunchEvent, this);
    Signal.clearData(this);
    this.clearStallTimer();
    window.clearTimeout(this._validateTimer);
    document.removeEventListener('visibilitychange', this.onVisible);
  }

  /** Read (or re-read) the pipeline file's text, then refresh everything that depends on it. */
  async load(text: string, doc: EditablePipeline | null = null): Promise<void> {
    if (text === this._text && this._state.graph) {
      return;
    }
    if (!this._applying) {
      this.history.clear();
      if (!this.host.isDirty()) {
        this.history.markSaved(text);
      }
    }
    this._text = text;
    this._doc = doc;
    let graph: PipelineGraph;
    try {
      graph = doc
        ? graphFromJson(doc.doc, this.host.path())
        : parsePipeline(text, this.host.path());
    } catch (err) {
      const message =
        err instanceof PipelineFormatError ? err.message : String(err);
      this.update({ graph: null, formatError: message, issues: [] });
      return;
    }
    const first = this._state.graph === null;
    this.update({
      graph,
      formatError: null,
      canUndo: this.history.canUndo,
      canRedo: this.history.canRedo
    });
    if (!first) {
      this.scheduleValidation(graph);
      return;
    }
    await Promise.all([
      this.validate(graph),
      first ? this.loadBackends() : Promise.resolve(),
      first ? this.refreshRuns(true) : Promise.resolve()
    ]);
    if (first) {
      await this.refreshLaunch();
    }
  }

  /** The file was renamed or moved: validate it where it is now and show its runs. */
  async pathChanged(): Promise<void> {
    const graph = this._state.graph;
    if (graph) {
      await Promise.all([this.validate(graph), this.refreshRuns(true)]);
    }
  }

  setSelection(uuids: string[]): void {
    const same =
      uuids.length === this._state.selected.length &&
      uuids.every((u, i) => u === this._state.selected[i]);
    if (!same) {
      this.update({ selected: uuids });
    }
  }

  inspect(uuid: string | null): void {
    this.update({
      inspected: uuid,
      sideTab: uuid ? 'step' : this._state.sideTab
    });
  }

  setSideTab(sideTab: SideTab): void {
    this.update({ sideTab });
  }

  setBackend(backend: string): void {
    this.update({ backend });
  }

  setFailurePolicy(failurePolicy: FailurePolicy): void {
    this.update({ failurePolicy });
  }

  setInclusive(inclusive: boolean): void {
    this.update({ inclusive });
  }

  dismissBanner(): void {
    this.update({ error: null, notice: null });
  }

  runAll(): Promise<void> {
    return this.startRun('full', []);
  }

  runSelected(): Promise<void> {
    return this.startRun('selection', this._state.selected);
  }

  runIncoming(): Promise<void> {
    return this.startRun('incoming', this._state.selected);
  }

  runDescendants(): Promise<void> {
    return this.startRun('descendants', this._state.selected);
  }

  /** Run every step whose code or inputs changed; the others reuse earlier results. */
  runChanged(): Promise<void> {
    return this.startRun('full', [], 'use');
  }

  /** Apply one edit to the file's JSON; refused edits say why and change nothing. */
  edit(
    change: (doc: EditablePipeline, graph: PipelineGraph) => EditablePipeline
  ): boolean {
    const graph = this._state.graph;
    if (!graph) {
      return false;
    }
    performance.clearMarks(EDIT_MARK);
    performance.mark(EDIT_MARK);
    let next: EditablePipeline;
    try {
      const doc =
        this._doc ?? EditablePipeline.fromText(this._text, graph.format);
      next = change(doc, graph);
      if (next === doc) {
        performance.clearMarks(EDIT_MARK);
        return false;
      }
    } catch (err) {
      performance.clearMarks(EDIT_MARK);
      if (err instanceof FormatLimitError) {
        void this.host.offerOrchestCopy(err.message, graph);
      } else {
        this.update({ error: (err as Error).message });
      }
      return false;
    }
    this.history.record(this._text);
    this.apply(next.toText(), next);
    return true;
  }

  addFiles(paths: string[], at: Position | null = null): void {
    const directory = dirname(this.host.path());
    const usable = paths.filter(p => stepKind(p) !== 'unknown');
    if (usable.length < paths.length) {
      this.update({
        error: 'Only notebooks (.ipynb), .py, .sh and .R files can be steps.'
      });
    }
    if (!usable.length) {
      return;
    }
    const layout = this.canvas?.layout();
    const spots = at
      ? usable.map((_, i) => ({ x: at.x, y: at.y + i * (NODE_HEIGHT + 24) }))
      : placeNewSteps(
          this.canvas?.visibleArea() ?? DEFAULT_AREA,
          [...(layout?.positions.values() ?? [])],
          usable.length
        );
    this.edit(doc => {
      // Steps drawn where the automatic layout put them stay there.
      let next = layout?.automatic ? doc.move(layout.positions) : doc;
      usable.forEach((path, index) => {
        next = next.addStep(relativePath(directory, path), spots[index])[0];
      });
      return next;
    });
  }

  async addStepFromPicker(): Promise<void> {
    const paths = await this.host.pickFiles(dirname(this.host.path()));
    this.addFiles(paths);
  }

  connect(source: string, target: string): void {
    this.edit((doc, graph) => doc.connect(source, target, graph));
  }

  deleteElements(steps: string[], connections: Array<[string, string]>): void {
    this.edit(doc => {
      let next = doc;
      for (const [source, target] of connections) {
        next = next.disconnect(source, target);
      }
      return steps.length ? next.removeSteps(steps) : next;
    });
    if (steps.includes(this._state.inspected ?? '')) {
      this.inspect(null);
    }
  }

  /** A file or directory was renamed or moved (root-relative paths): the steps that use
   * it follow, as an unsaved edit. */
  fileRenamed(from: string, to: string): void {
    const graph = this._state.graph;
    const moved = graph
      ? renamedStepFiles(graph.steps, this.host.path(), from, to)
      : [];
    if (moved.length) {
      this.edit(doc =>
        moved.reduce(
          (next, [uuid, filePath]) =>
            next.updateStep(uuid, { file_path: filePath }),
          doc
        )
      );
    }
  }

  /** A file or directory appeared, changed or was deleted: the steps that use it show
   * their issues (or lose them) at once. */
  fileChanged(path: string): void {
    const graph = this._state.graph;
    if (graph && stepsUsing(graph.steps, this.host.path(), path).length) {
      void this.validate(graph);
    }
  }

  /** Delete the selected steps and connections of the drawn graph. */
  deleteSelection(): void {
    this.graphCommands?.deleteSelection();
  }

  selectAll(): void {
    this.graphCommands?.selectAll();
  }

  move(positions: Map<string, Position>): boolean {
    return this.edit(doc => doc.move(positions));
  }

  /** Lay the whole graph out again, parents left of children (undoable like any edit). */
  tidyUp(): void {
    const graph = this._state.graph;
    if (graph && this.move(layeredLayout(graph.steps))) {
      this.canvas?.fitNext();
    }
  }

  updateStep(uuid: string, patch: StepPatch): boolean {
    return this.edit(doc => doc.updateStep(uuid, patch));
  }

  updatePipeline(patch: PipelinePatch): boolean {
    return this.edit(doc => doc.updatePipeline(patch));
  }

  undo(): void {
    const previous = this.history.undo(this._text);
    if (previous !== undefined) {
      this.apply(previous);
    }
  }

  redo(): void {
    const next = this.history.redo(this._text);
    if (next !== undefined) {
      this.apply(next);
    }
  }

  /** The document was saved (or reverted): `text` is what the file holds. */
  markSaved(text: string): void {
    this.history.markSaved(text);
  }

  private apply(text: string, doc: EditablePipeline | null = null): void {
    this._applying = true;
    try {
      this.host.setText(text, !this.history.isSaved(text));
      void this.load(text, doc);
    } finally {
      this._applying = false;
    }
  }

  /** Whether the shown run can still be aborted. */
  get canAbort(): boolean {
    const run = this._state.run;
    return run !== null && !TERMINAL.has(run.status);
  }

  async abort(): Promise<void> {
    const run = this._state.run;
    if (!run || TERMINAL.has(run.status)) {
      return;
    }
    await this.call(async () =>
      this.tracker.show(await this.api.abortRun(run.id))
    );
  }

  /** Show one run of the history on the graph. */
  async showRun(runId: string): Promise<void> {
    await this.call(async () =>
      this.tracker.show(await this.api.getRun(runId))
    );
  }

  async startSession(): Promise<void> {
    const uuid = this._state.pipelineUuid;
    if (!uuid) {
      this.update({
        error: "Fix the pipeline's issues before starting a session."
      });
      return;
    }
    const directory = this.host.path().split('/').slice(0, -1).join('/');
    await this.call(async () => {
      this.update({ launch: await this.api.startLaunch(uuid, directory) });
    });
  }

  async stopSession(): Promise<void> {
    const uuid = this._state.pipelineUuid;
    if (uuid) {
      await this.call(async () => {
        this.update({ launch: await this.api.stopLaunch(uuid) });
      });
    }
  }

  /** Re-read the run history (newest first); `follow` also shows the newest run. */
  async refreshRuns(follow = false): Promise<void> {
    await this.call(async () => {
      const shown = Math.max(RUNS_PAGE, this._state.runs.length);
      const { runs, total } = await this.api.listRuns(this.host.path(), shown);
      this.update({ runs, runsTotal: total });
      const newest = runs[0];
      const activeNewer = newest !== undefined && !TERMINAL.has(newest.status);
      if (
        (follow || activeNewer) &&
        newest &&
        newest.id !== this._state.run?.id
      ) {
        this.tracker.show(await this.api.getRun(newest.id));
      }
    });
  }

  /** Add the next page of older runs to the history. */
  async loadMoreRuns(): Promise<void> {
    await this.call(async () => {
      const known = this._state.runs;
      const { runs, total } = await this.api.listRuns(
        this.host.path(),
        RUNS_PAGE,
        known.length
      );
      const ids = new Set(known.map(run => run.id));
      this.update({
        runs: [...known, ...runs.filter(run => !ids.has(run.id))],
        runsTotal: total
      });
    });
  }

  private async startRun(
    runType: RunType,
    uuids: string[],
    cache?: RunRequest['cache']
  ): Promise<void> {
    if (runType !== 'full' && uuids.length === 0) {
      this.update({
        error:
          'Select one or more steps first (click, Shift/Ctrl-click, or Shift-drag).'
      });
      return;
    }
    const steps = stepsInRun(
      this._state.graph?.steps ?? [],
      runType,
      uuids,
      this._state.inclusive
    );
    if (!(await this.host.settleStepFiles(steps.map(s => s.filePath)))) {
      return;
    }
    this.update({ starting: true, error: null, notice: null });
    await this.call(async () => {
      const run = await this.api.startRun({
        ...this.runSource(),
        run_type: runType,
        uuids: runType === 'full' ? undefined : uuids,
        inclusive: runType === 'incoming' ? this._state.inclusive : undefined,
        backend: this._state.backend || undefined,
        failure_policy: this._state.failurePolicy,
        cache
      });
      this.tracker.show(run);
      if (!this._state.runs.some(known => known.id === run.id)) {
        this.update({
          runs: [run, ...this._state.runs],
          runsTotal: this._state.runsTotal + 1
        });
      }
      this.scheduleRunsRefresh();
    });
    this.update({ starting: false });
  }

  /** The saved file; with unsaved edits, the editor's text (the file is not written). */
  private runSource(): RunSource {
    const path = this.host.path();
    return this.host.isDirty()
      ? {
          pipeline_description: this._text,
          pipeline_dir: dirname(path),
          unsaved_edit_of: path
        }
      : { pipeline_path: path };
  }

  private scheduleValidation(graph: PipelineGraph): void {
    window.clearTimeout(this._validateTimer);
    this._validateTimer = window.setTimeout(
      () => void this.validate(graph),
      300
    );
  }

  private async validate(graph: PipelineGraph): Promise<void> {
    await this.call(async () => {
      const result = this.host.isDirty()
        ? await this.api.validateText(this._text, dirname(this.host.path()))
        : await this.api.validate(this.host.path());
      if (graph !== this._state.graph) {
        return;
      }
      // A refused run's "N issues" message is stale now: the list shows the issues as they are.
      const stale =
        this._state.error !== null && this._state.error === this._issuesError;
      this.update({
        issues: result.issues,
        pipelineUuid: result.pipeline?.uuid ?? (graph.uuid || null),
        ...(stale ? { error: null } : {})
      });
    });
  }

  private async loadBackends(): Promise<void> {
    await this.call(async () => {
      const { backends, default: fallback } = await this.api.backends();
      const preferred =
        this._state.backend || this.host.preferences().defaultBackend;
      this.update({
        backends,
        backend: chooseBackend(preferred, backends, fallback)
      });
    });
  }

  private async refreshLaunch(): Promise<void> {
    const uuid = this._state.pipelineUuid;
    if (!uuid) {
      return;
    }
    await this.call(async () => {
      const { launches, available, reason } = await this.api.listLaunches();
      this.update({
        launch: launches.find(l => l.pipeline_uuid === uuid) ?? null,
        sessionsUnavailable: available === false ? (reason ?? '') : null
      });
    });
  }

  private onStatusEvent(_: OrchestEvents, event: StatusEvent): void {
    const outcome = this.tracker.handle(event);
    if (outcome === 'applied' || outcome === 'gap') {
      this.resetStallTimer();
      if (!event.step_uuid && TERMINAL.has(event.status)) {
        this.scheduleRunsRefresh();
      }
      return;
    }
    const known = this._state.runs.some(run => run.id === event.run_id);
    const startingRun = !event.step_uuid && !TERMINAL.has(event.status);
    if (
      outcome === 'other-run' &&
      event.pipeline_uuid === this._state.pipelineUuid &&
      (!known || startingRun)
    ) {
      this.scheduleRunsRefresh(true);
    }
  }

  private onLaunchEvent(_: OrchestEvents, event: LaunchEvent): void {
    if (event.pipeline_uuid !== this._state.pipelineUuid) {
      return;
    }
    if (event.status === 'STOPPED') {
      this.update({ launch: null });
    } else {
      this.update({
        launch: { ...(this._state.launch ?? {}), ...event } as Launch
      });
    }
  }

  private onRunChanged(run: RunState | null): void {
    this.update({ run });
    if (run && !TERMINAL.has(run.status)) {
      this.resetStallTimer();
    } else {
      this.clearStallTimer();
    }
  }

  /** While the shown run is active, a quiet event stream means events may have been lost. */
  private resetStallTimer(): void {
    this.clearStallTimer();
    const run = this._state.run;
    if (this._disposed || !run || TERMINAL.has(run.status)) {
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
  private scheduleRunsRefresh(follow = false): void {
    this._followNext = this._followNext || follow;
    if (this._runsTimer !== null) {
      return;
    }
    this._runsTimer = window.setTimeout(() => {
      this._runsTimer = null;
      const followNow = this._followNext;
      this._followNext = false;
      void this.refreshRuns(followNow);
    }, 200);
  }

  /** Run an API action; its failure becomes the banner message, never an exception. */
  private async call(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (err) {
      if (err instanceof ApiError && err.issues.length) {
        const count = err.issues.length;
        this._issuesError = `The pipeline has ${count} issue${count === 1 ? '' : 's'}; see the list below.`;
        this.update({ error: this._issuesError, issues: err.issues });
      } else {
        this.update({ error: (err as Error).message });
      }
    }
  }

  private update(patch: Partial<ViewState>): void {
    if (this._disposed) {
      return;
    }
    this._state = { ...this._state, ...patch };
    this._changed.emit(this._state);
  }

  private readonly tracker: RunTracker;
  private _state: ViewState = {
    graph: null,
    formatError: null,
    issues: [],
    error: null,
    notice: null,
    pipelineUuid: null,
    run: null,
    runs: [],
    runsTotal: 0,
    selected: [],
    inspected: null,
    sideTab: 'runs',
    backends: [],
    backend: '',
    failurePolicy: 'continue',
    inclusive: false,
    launch: null,
    sessionsUnavailable: null,
    starting: false,
    canUndo: false,
    canRedo: false
  };
  private _changed = new Signal<this, ViewState>(this);
  private _disposed = false;
  private _stallTimer: number | null = null;
  private _runsTimer: number | null = null;
  private _followNext = false;
  private _text = '';
  /** The parsed JSON of `_text` when an edit made it (saves parsing it again). */
  private _doc: EditablePipeline | null = null;
  private readonly history = new EditHistory();
  /** The banner message of the last run refused for the pipeline's issues. */
  private _issuesError: string | null = null;
  private _applying = false;
  private _validateTimer: number | undefined;
}
