/**
 * One open pipeline: its graph, validation issues, runs and session, as the view state
 * React renders, and the actions toolbar buttons and commands call. The parts live in
 * controllers/: the state (ViewStore), edits (PipelineEditor), the shown run and history
 * (RunFollower), the session (SessionController); this class wires them and starts runs.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal } from '@lumino/signaling';

import { OrchestApi, RunOptions, RunRequest, RunSource, RunType } from './api';
import { GraphCommands } from './components/GraphCommands';
import { CanvasView, EditorHost, PipelineEditor } from './controllers/editor';
import { RunFollower } from './controllers/runFollower';
import { SessionController } from './controllers/session';
import { SideTab, ViewState, ViewStore } from './controllers/viewStore';
import { OrchestEvents } from './events';
import { EditablePipeline, PipelinePatch, StepPatch } from './model/document';
import { dirname, stepsUsing } from './model/paths';
import {
  graphFromJson,
  parsePipeline,
  PipelineFormatError,
  PipelineGraph,
  Position
} from './model/pipeline';
import { chooseBackend, FailurePolicy, Preferences } from './model/preferences';
import { stepsInRun } from './model/runSteps';

export type { CanvasView, FailurePolicy, SideTab, ViewState };
export { DRAWN_MARK, EDIT_MARK, POINTERUP_MARK } from './controllers/editor';
export { RUNS_PAGE } from './controllers/runFollower';

/** What the controller needs from its document and the application. */
export interface PipelineHost extends EditorHost {
  /** Ask about step files with unsaved changes in open editors before a run reads them:
   * save them, run the saved versions, or cancel (false). Paths relative to the pipeline. */
  settleStepFiles(filePaths: string[]): Promise<boolean>;
  /** The user's settings (defaults of a newly opened view). */
  preferences(): Preferences;
  /** The extension's strings in the user's language. */
  trans: TranslationBundle;
}

export class PipelineController {
  constructor(
    readonly api: OrchestApi,
    events: OrchestEvents,
    private readonly host: PipelineHost
  ) {
    const path = () => host.path();
    this.store = new ViewStore(host.trans, {
      failurePolicy: host.preferences().failurePolicy
    });
    this.editor = new PipelineEditor(
      this.store,
      host,
      (text, doc) => void this.load(text, doc),
      () => this.canvas
    );
    this.runs = new RunFollower(api, events, this.store, path);
    this.session = new SessionController(api, events, this.store, path);
  }

  /** Screen → canvas coordinates, set by the drawn graph (for drops). */
  screenToFlow: ((point: Position) => Position) | null = null;
  /** The visible part of the canvas and what it draws, set by the drawn graph. */
  canvas: CanvasView | null = null;
  /** Selection actions on the drawn graph (for keyboard commands), set by the graph. */
  graphCommands: GraphCommands | null = null;

  get changed(): ISignal<ViewStore, ViewState> {
    return this.store.changed;
  }

  get state(): ViewState {
    return this.store.state;
  }

  dispose(): void {
    this.runs.dispose();
    this.session.dispose();
    this.store.dispose();
    window.clearTimeout(this._validateTimer);
  }

  /** Read (or re-read) the pipeline file's text, then refresh everything that depends on it. */
  async load(text: string, doc: EditablePipeline | null = null): Promise<void> {
    if (text === this.editor.text && this.state.graph) {
      return;
    }
    this.editor.received(text, doc);
    let graph: PipelineGraph;
    try {
      graph = doc
        ? graphFromJson(doc.doc, this.host.path())
        : parsePipeline(text, this.host.path());
    } catch (err) {
      const message =
        err instanceof PipelineFormatError ? err.message : String(err);
      this.store.update({ graph: null, formatError: message, issues: [] });
      return;
    }
    const first = this.state.graph === null;
    this.store.update({
      graph,
      formatError: null,
      canUndo: this.editor.canUndo,
      canRedo: this.editor.canRedo,
      // the file's schema issues at once; the server's full list replaces them
      ...(graph.issues.length ? { issues: graph.issues } : {})
    });
    if (!first) {
      this.scheduleValidation(graph);
      return;
    }
    await Promise.all([
      this.validate(graph),
      this.loadBackends(),
      this.runs.refresh(true)
    ]);
    await this.session.refresh();
  }

  /** The file was renamed or moved: validate it where it is now and show its runs. */
  async pathChanged(): Promise<void> {
    const graph = this.state.graph;
    if (graph) {
      await Promise.all([this.validate(graph), this.runs.refresh(true)]);
    }
  }

  setSelection(uuids: string[]): void {
    const selected = this.state.selected;
    const same =
      uuids.length === selected.length &&
      uuids.every((u, i) => u === selected[i]);
    if (!same) {
      this.store.update({ selected: uuids });
    }
  }

  inspect(uuid: string | null): void {
    this.store.update({
      inspected: uuid,
      sideTab: uuid ? 'step' : this.state.sideTab
    });
  }

  setSideTab(sideTab: SideTab): void {
    this.store.update({ sideTab });
  }

  setBackend(backend: string): void {
    this.store.update({ backend });
  }

  setFailurePolicy(failurePolicy: FailurePolicy): void {
    this.store.update({ failurePolicy });
  }

  setInclusive(inclusive: boolean): void {
    this.store.update({ inclusive });
  }

  dismissBanner(): void {
    this.store.update({ error: null, notice: null });
  }

  runAll(): Promise<void> {
    return this.startRun('full', []);
  }

  runSelected(): Promise<void> {
    return this.startRun('selection', this.state.selected);
  }

  runIncoming(): Promise<void> {
    return this.startRun('incoming', this.state.selected);
  }

  runDescendants(): Promise<void> {
    return this.startRun('descendants', this.state.selected);
  }

  /** Run every step whose code or inputs changed; the others reuse earlier results. */
  runChanged(): Promise<void> {
    return this.startRun('full', [], 'use');
  }

  /** A file or directory appeared, changed or was deleted: the steps that use it show
   * their issues (or lose them) at once. */
  fileChanged(path: string): void {
    const graph = this.state.graph;
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

  // Edits (controllers/editor.ts).
  addFiles = (paths: string[], at: Position | null = null): void =>
    this.editor.addFiles(paths, at);
  addStepFromPicker = (): Promise<void> => this.editor.addStepFromPicker();
  connect = (source: string, target: string): void =>
    this.editor.connect(source, target);
  deleteElements = (
    steps: string[],
    connections: Array<[string, string]>
  ): void => this.editor.deleteElements(steps, connections);
  fileRenamed = (from: string, to: string): void =>
    this.editor.fileRenamed(from, to);
  move = (positions: Map<string, Position>): boolean =>
    this.editor.move(positions);
  tidyUp = (): void => this.editor.tidyUp();
  updateStep = (uuid: string, patch: StepPatch): boolean =>
    this.editor.updateStep(uuid, patch);
  updatePipeline = (patch: PipelinePatch): boolean =>
    this.editor.updatePipeline(patch);
  undo = (): void => this.editor.undo();
  redo = (): void => this.editor.redo();
  /** The document was saved (or reverted): `text` is what the file holds. */
  markSaved = (text: string): void => this.editor.markSaved(text);

  // The shown run and the history (controllers/runFollower.ts).
  get canAbort(): boolean {
    return this.runs.canAbort;
  }
  abort = (): Promise<void> => this.runs.abort();
  showRun = (runId: string): Promise<void> => this.runs.showRun(runId);
  refreshRuns = (follow = false): Promise<void> => this.runs.refresh(follow);
  loadMoreRuns = (): Promise<void> => this.runs.loadMore();

  // The session (controllers/session.ts).
  startSession = (): Promise<void> => this.session.start();
  stopSession = (): Promise<void> => this.session.stop();

  private async startRun(
    runType: RunType,
    uuids: string[],
    cache?: RunRequest['cache']
  ): Promise<void> {
    if (runType !== 'full' && uuids.length === 0) {
      this.store.update({
        error: this.store.trans.__(
          'Select one or more steps first (click, Shift/Ctrl-click, or Shift-drag).'
        )
      });
      return;
    }
    const { graph, inclusive, backend, failurePolicy } = this.state;
    const steps = stepsInRun(graph?.steps ?? [], runType, uuids, inclusive);
    if (!(await this.host.settleStepFiles(steps.map(s => s.filePath)))) {
      return;
    }
    this.store.update({ starting: true, error: null, notice: null });
    await this.store.call(async () => {
      const run = await this.api.startRun({
        ...this.runSource(),
        run_type: runType,
        uuids: runType === 'full' ? undefined : uuids,
        inclusive: runType === 'incoming' ? inclusive : undefined,
        // a backend the server listed (GET backends)
        backend: (backend || undefined) as RunOptions['backend'],
        failure_policy: failurePolicy,
        cache
      });
      this.runs.started(run);
    });
    this.store.update({ starting: false });
  }

  /** The saved file; with unsaved edits, the editor's text (the file is not written). */
  private runSource(): RunSource {
    const path = this.host.path();
    return this.host.isDirty()
      ? {
          pipeline_description: this.editor.text,
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
    await this.store.call(async () => {
      const path = this.host.path();
      const result = this.host.isDirty()
        ? await this.api.validateText(this.editor.text, dirname(path))
        : await this.api.validate(path);
      if (graph === this.state.graph) {
        this.store.validated(
          result.issues,
          result.pipeline?.uuid ?? (graph.uuid || null)
        );
      }
    });
  }

  private async loadBackends(): Promise<void> {
    await this.store.call(async () => {
      const { backends, default: fallback } = await this.api.backends();
      const preferred =
        this.state.backend || this.host.preferences().defaultBackend;
      this.store.update({
        backends,
        backend: chooseBackend(preferred, backends, fallback)
      });
    });
  }

  private readonly store: ViewStore;
  private readonly editor: PipelineEditor;
  private readonly runs: RunFollower;
  private readonly session: SessionController;
  private _validateTimer: number | undefined;
}
