/**
 * The view's state of one run, kept from the server's events with the `seq` gap rule:
 * events apply in order; a stale one is ignored; a gap means "resync from GET runs/{id}".
 * Pure: no JupyterLab imports.
 */

/** BUILDING is shown only: a STARTED step waiting for its environment's image. */
export type Status =
  'PENDING' | 'STARTED' | 'BUILDING' | 'SUCCESS' | 'FAILURE' | 'ABORTED';

export const TERMINAL: ReadonlySet<string> = new Set([
  'SUCCESS',
  'FAILURE',
  'ABORTED'
]);

/** A step that is running, building its environment first or not. */
export const RUNNING: ReadonlySet<string> = new Set(['STARTED', 'BUILDING']);

export const EVENT_SCHEMAS = {
  run: 'https://orchest-ext.dev/events/run_status/v1',
  step: 'https://orchest-ext.dev/events/step_status/v1',
  launch: 'https://orchest-ext.dev/events/launch_status/v1'
};

export interface StepState {
  uuid: string;
  title: string;
  status: Status;
  message: string | null;
  started_time: string | null;
  finished_time: string | null;
  /** The step reused an earlier run's result (a run with `cache: "use"`). */
  cached: boolean;
  /** The run whose result a cached step reused. */
  cached_from: string | null;
  /** Why the step ran instead of reusing a result (`key_changed`...); null if cached. */
  run_reason: string | null;
  /** What the step logged with `orchest.log_metric`, by name (known once it ended). */
  metrics?: Record<string, number>;
}

/** The fields of a step's caching, as the API and the step events carry them. */
export interface CacheFields {
  cached?: boolean;
  cached_from?: string | null;
  run_reason?: string | null;
}

export interface RunState {
  id: string;
  pipeline_uuid: string;
  run_type: string;
  status: Status;
  message: string | null;
  seq: number;
  created_time: string;
  started_time: string | null;
  finished_time: string | null;
  steps: Record<string, StepState>;
}

/** A run as `GET runs/{id}` returns it (the fields the view reads). */
export interface ApiRun {
  id: string;
  pipeline_uuid: string;
  pipeline_path?: string | null;
  run_type: string;
  status: Status;
  message?: string | null;
  seq: number;
  created_time: string;
  started_time?: string | null;
  finished_time?: string | null;
  steps?: Array<
    {
      uuid: string;
      title: string;
      status: Status;
      message?: string | null;
      started_time?: string | null;
      finished_time?: string | null;
      metrics?: Record<string, number>;
    } & CacheFields
  >;
}

/** A run or step status event as the event bus delivers it. */
export interface StatusEvent extends CacheFields {
  schema_id: string;
  run_id: string;
  pipeline_uuid: string;
  status: Status;
  seq: number;
  message?: string | null;
  step_uuid?: string;
  title?: string;
  created_time?: string;
  started_time?: string | null;
  finished_time?: string | null;
  /** A step's metrics, on its last event. */
  metrics?: Record<string, number>;
}

/** How many events of runs not (yet) shown are kept for when one of them is shown. */
const MAX_EARLY_EVENTS = 2000;

export type Outcome = 'applied' | 'stale' | 'gap' | 'other-run' | 'not-status';

export function runStateFromApi(run: ApiRun): RunState {
  const steps: Record<string, StepState> = {};
  for (const step of run.steps ?? []) {
    steps[step.uuid] = {
      uuid: step.uuid,
      title: step.title,
      status: step.status,
      message: step.message ?? null,
      started_time: step.started_time ?? null,
      finished_time: step.finished_time ?? null,
      metrics: step.metrics ?? {},
      ...cacheFields(step)
    };
  }
  return {
    id: run.id,
    pipeline_uuid: run.pipeline_uuid,
    run_type: run.run_type,
    status: run.status,
    message: run.message ?? null,
    seq: run.seq,
    created_time: run.created_time,
    started_time: run.started_time ?? null,
    finished_time: run.finished_time ?? null,
    steps
  };
}

function cacheFields(
  source: CacheFields
): Pick<StepState, 'cached' | 'cached_from' | 'run_reason'> {
  return {
    cached: source.cached ?? false,
    cached_from: source.cached_from ?? null,
    run_reason: source.run_reason ?? null
  };
}

/** Apply one event: a new state when it is the next in `seq`, else the same state and why. */
export function applyEvent(
  state: RunState,
  event: StatusEvent
): { state: RunState; outcome: Outcome } {
  if (
    event.schema_id !== EVENT_SCHEMAS.run &&
    event.schema_id !== EVENT_SCHEMAS.step
  ) {
    return { state, outcome: 'not-status' };
  }
  if (event.run_id !== state.id) {
    return { state, outcome: 'other-run' };
  }
  if (event.seq <= state.seq) {
    return { state, outcome: 'stale' };
  }
  if (event.seq !== state.seq + 1) {
    return { state, outcome: 'gap' };
  }
  if (event.schema_id === EVENT_SCHEMAS.run) {
    return {
      outcome: 'applied',
      state: {
        ...state,
        seq: event.seq,
        status: TERMINAL.has(state.status) ? state.status : event.status,
        message: event.message ?? state.message,
        started_time: event.started_time ?? state.started_time,
        finished_time: event.finished_time ?? state.finished_time
      }
    };
  }
  const uuid = event.step_uuid as string;
  const previous = state.steps[uuid];
  const step: StepState =
    previous && TERMINAL.has(previous.status)
      ? previous
      : {
          uuid,
          title: event.title ?? previous?.title ?? uuid,
          status: event.status,
          message: event.message ?? null,
          started_time: event.started_time ?? previous?.started_time ?? null,
          finished_time: event.finished_time ?? previous?.finished_time ?? null,
          metrics: event.metrics ?? previous?.metrics ?? {},
          ...cacheFields(event)
        };
  return {
    outcome: 'applied',
    state: { ...state, seq: event.seq, steps: { ...state.steps, [uuid]: step } }
  };
}

/**
 * Follows one run: applies its events in `seq` order and, on a gap, fetches the run and
 * replays the events that came after the fetched `seq`.
 */
export class RunTracker {
  constructor(
    private readonly fetchRun: (id: string) => Promise<ApiRun>,
    private readonly onChange: (state: RunState | null) => void,
    private readonly onResync: (missed: boolean) => void = () => undefined,
    private readonly onResyncError: (error: Error) => void = () => undefined
  ) {}

  get state(): RunState | null {
    return this._state;
  }

  /** Whether a resync is in flight. */
  get resyncing(): boolean {
    return this._resync !== null;
  }

  /**
   * Show this run (a newer snapshot of the shown run only moves it forward). Events of it
   * that arrived before it was shown (a run's first events can beat the answer that
   * created it) are replayed.
   */
  show(run: ApiRun): void {
    if (
      this._state &&
      this._state.id === run.id &&
      run.seq <= this._state.seq
    ) {
      return;
    }
    if (!this._state || this._state.id !== run.id) {
      this._pending = this._early.filter(event => event.run_id === run.id);
      this._early = this._early.filter(event => event.run_id !== run.id);
    }
    this.set(runStateFromApi(run));
    this.drain();
  }

  clear(): void {
    this._pending = [];
    this.set(null);
  }

  /** Feed one event from the bus; returns what it did. */
  handle(event: StatusEvent): Outcome {
    const state = this._state;
    if (!state || event.run_id !== state.id) {
      this._early.push(event);
      if (this._early.length > MAX_EARLY_EVENTS) {
        this._early.splice(0, this._early.length - MAX_EARLY_EVENTS);
      }
      return 'other-run';
    }
    if (this._resync || this._pending.length) {
      this._pending.push(event);
      if (!this._resync) {
        void this.resync();
      }
      return 'gap';
    }
    const result = applyEvent(state, event);
    if (result.outcome === 'applied') {
      this.set(result.state);
    } else if (result.outcome === 'gap') {
      this._pending.push(event);
      void this.resync();
    }
    return result.outcome;
  }

  /**
   * Fetch the shown run and continue from its `seq` (also after a dropped connection).
   * A failed fetch keeps the waiting events; the next event or resync tries again.
   */
  async resync(): Promise<void> {
    const state = this._state;
    if (!state) {
      return;
    }
    if (this._resync) {
      return this._resync;
    }
    const before = state.seq;
    let fetched = false;
    this._resync = (async () => {
      try {
        const run = await this.fetchRun(state.id);
        fetched = true;
        if (this._state && this._state.id === run.id) {
          if (run.seq > this._state.seq) {
            this.set(runStateFromApi(run));
          }
          this.onResync(run.seq > before);
        }
      } catch (err) {
        this.onResyncError(err as Error);
      } finally {
        this._resync = null;
      }
      if (fetched) {
        this.drain();
      }
    })();
    return this._resync;
  }

  /** Apply waiting events in `seq` order until they run out or a gap needs a resync. */
  private drain(): void {
    while (this._pending.length && !this._resync) {
      const state = this._state;
      if (!state) {
        this._pending = [];
        return;
      }
      this._pending.sort((a, b) => a.seq - b.seq);
      const event = this._pending.shift() as StatusEvent;
      const result = applyEvent(state, event);
      if (result.outcome === 'applied') {
        this.set(result.state);
      } else if (result.outcome === 'gap') {
        this._pending.unshift(event);
        void this.resync();
        return;
      }
    }
  }

  private set(state: RunState | null): void {
    this._state = state;
    this.onChange(state);
  }

  private _state: RunState | null = null;
  private _pending: StatusEvent[] = [];
  /** Recent events of runs not shown (yet), for `show`. */
  private _early: StatusEvent[] = [];
  private _resync: Promise<void> | null = null;
}
