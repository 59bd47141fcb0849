/** One open pipeline's view state: what React renders, changed only through `update`. */
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { ApiError, Issue, Launch, RunSummary } from '../api';
import { PipelineGraph } from '../model/pipeline';
import { FailurePolicy } from '../model/preferences';
import { RunState } from '../model/runState';

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

const INITIAL: ViewState = {
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

export class ViewStore {
  constructor(
    /** The extension's strings in the user's language (for the view's messages). */
    readonly trans: TranslationBundle,
    initial: Partial<ViewState> = {}
  ) {
    this._state = { ...INITIAL, ...initial };
  }

  get state(): ViewState {
    return this._state;
  }

  get changed(): ISignal<this, ViewState> {
    return this._changed;
  }

  get disposed(): boolean {
    return this._disposed;
  }

  update(patch: Partial<ViewState>): void {
    if (this._disposed) {
      return;
    }
    this._state = { ...this._state, ...patch };
    this._changed.emit(this._state);
  }

  /** Run an API action; its failure becomes the banner message, never an exception. */
  async call(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (err) {
      if (err instanceof ApiError && err.issues.length) {
        const count = err.issues.length;
        this._issuesError = this.trans._n(
          'The pipeline has %1 issue; see the list below.',
          'The pipeline has %1 issues; see the list below.',
          count
        );
        this.update({ error: this._issuesError, issues: err.issues });
      } else {
        this.update({ error: (err as Error).message });
      }
    }
  }

  /** Fresh validation results; a refused run's "N issues" message goes (the list shows
   * the issues as they are now). */
  validated(issues: Issue[], pipelineUuid: string | null): void {
    const stale =
      this._state.error !== null && this._state.error === this._issuesError;
    this.update({ issues, pipelineUuid, ...(stale ? { error: null } : {}) });
  }

  dispose(): void {
    this._disposed = true;
    Signal.clearData(this);
  }

  private _state: ViewState;
  private _changed = new Signal<this, ViewState>(this);
  private _disposed = false;
  /** The banner message of the last run refused for the pipeline's issues. */
  private _issuesError: string | null = null;
}
