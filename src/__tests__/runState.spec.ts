import {
  ApiRun,
  applyEvent,
  EVENT_SCHEMAS,
  RunState,
  runStateFromApi,
  RunTracker,
  StatusEvent
} from '../model/runState';

function apiRun(seq: number, statuses: Record<string, string> = {}): ApiRun {
  return {
    id: 'run-1',
    pipeline_uuid: 'p',
    run_type: 'full',
    status: 'STARTED',
    seq,
    created_time: '2026-01-01T00:00:00Z',
    steps: Object.entries({ a: 'PENDING', b: 'PENDING', ...statuses }).map(
      ([uuid, status]) => ({
        uuid,
        title: uuid.toUpperCase(),
        status: status as never
      })
    )
  };
}

function stepEvent(
  seq: number,
  uuid: string,
  status: string,
  run_id = 'run-1'
): StatusEvent {
  return {
    schema_id: EVENT_SCHEMAS.step,
    run_id,
    pipeline_uuid: 'p',
    step_uuid: uuid,
    status: status as never,
    seq
  };
}

function runEvent(seq: number, status: string): StatusEvent {
  return {
    schema_id: EVENT_SCHEMAS.run,
    run_id: 'run-1',
    pipeline_uuid: 'p',
    status: status as never,
    seq
  };
}

describe('applyEvent', () => {
  const start: RunState = runStateFromApi(apiRun(2));

  it("keeps the metrics a step's last event carries, and those the run answered", () => {
    const started = applyEvent(start, stepEvent(3, 'a', 'STARTED')).state;
    expect(started.steps.a.metrics).toEqual({});
    const ended = applyEvent(started, {
      ...stepEvent(4, 'a', 'SUCCESS'),
      metrics: { accuracy: 0.9 }
    }).state;
    expect(ended.steps.a.metrics).toEqual({ accuracy: 0.9 });
    const fetched = apiRun(5);
    fetched.steps![1].metrics = { loss: 0.1 };
    expect(runStateFromApi(fetched).steps.b.metrics).toEqual({ loss: 0.1 });
  });

  it('applies the next event in seq order', () => {
    const { state, outcome } = applyEvent(start, stepEvent(3, 'a', 'STARTED'));
    expect(outcome).toBe('applied');
    expect(state.seq).toBe(3);
    expect(state.steps.a.status).toBe('STARTED');
    expect(start.steps.a.status).toBe('PENDING');
  });

  it('ignores stale and duplicate events', () => {
    expect(applyEvent(start, stepEvent(2, 'a', 'SUCCESS')).outcome).toBe(
      'stale'
    );
    expect(applyEvent(start, stepEvent(1, 'a', 'SUCCESS')).state).toBe(start);
  });

  it('reports a gap instead of applying out of order', () => {
    const { state, outcome } = applyEvent(start, stepEvent(5, 'a', 'SUCCESS'));
    expect(outcome).toBe('gap');
    expect(state).toBe(start);
  });

  it('ignores other runs and other schemas', () => {
    expect(
      applyEvent(start, stepEvent(3, 'a', 'STARTED', 'run-2')).outcome
    ).toBe('other-run');
    expect(
      applyEvent(start, {
        ...runEvent(3, 'SUCCESS'),
        schema_id: EVENT_SCHEMAS.launch
      }).outcome
    ).toBe('not-status');
  });

  it('never changes a terminal status', () => {
    let state = applyEvent(start, stepEvent(3, 'a', 'FAILURE')).state;
    state = applyEvent(state, stepEvent(4, 'a', 'STARTED')).state;
    expect(state.steps.a.status).toBe('FAILURE');
    expect(state.seq).toBe(4);
  });

  it('applies run events to the run', () => {
    const { state } = applyEvent(start, {
      ...runEvent(3, 'SUCCESS'),
      finished_time: 'T'
    });
    expect(state.status).toBe('SUCCESS');
    expect(state.finished_time).toBe('T');
  });
});

describe('RunTracker', () => {
  function setup(server: ApiRun) {
    const fetches: string[] = [];
    const states: Array<RunState | null> = [];
    const missed: boolean[] = [];
    const tracker = new RunTracker(
      async id => {
        fetches.push(id);
        return server;
      },
      state => states.push(state),
      m => missed.push(m)
    );
    return { tracker, fetches, states, missed };
  }

  it('resyncs on a gap and replays later events', async () => {
    const { tracker, fetches, missed } = setup(
      apiRun(5, { a: 'SUCCESS', b: 'STARTED' })
    );
    tracker.show(apiRun(2));
    expect(tracker.handle(stepEvent(3, 'a', 'STARTED'))).toBe('applied');
    expect(tracker.handle(stepEvent(6, 'b', 'SUCCESS'))).toBe('gap');
    expect(tracker.handle(stepEvent(7, 'a', 'SUCCESS'))).toBe('gap');
    await tracker.resync();
    expect(fetches).toEqual(['run-1']);
    expect(missed).toEqual([true]);
    expect(tracker.state?.seq).toBe(7);
    expect(tracker.state?.steps.b.status).toBe('SUCCESS');
    expect(tracker.state?.steps.a.status).toBe('SUCCESS');
  });

  it('drops buffered events the snapshot already covers', async () => {
    const { tracker } = setup(apiRun(8, { a: 'SUCCESS', b: 'SUCCESS' }));
    tracker.show(apiRun(2));
    tracker.handle(stepEvent(5, 'b', 'STARTED'));
    await tracker.resync();
    expect(tracker.state?.seq).toBe(8);
    expect(tracker.state?.steps.b.status).toBe('SUCCESS');
  });

  it('does not move backwards when shown an older snapshot', () => {
    const { tracker } = setup(apiRun(1));
    tracker.show(apiRun(4, { a: 'SUCCESS' }));
    tracker.show(apiRun(3));
    expect(tracker.state?.seq).toBe(4);
    expect(tracker.state?.steps.a.status).toBe('SUCCESS');
  });

  it('keeps waiting events when the resync fails, and recovers on the next try', async () => {
    let fail = true;
    const errors: Error[] = [];
    const tracker = new RunTracker(
      async () => {
        if (fail) {
          throw new Error('server down');
        }
        return apiRun(3, { a: 'SUCCESS' });
      },
      () => undefined,
      () => undefined,
      err => errors.push(err)
    );
    tracker.show(apiRun(1));
    tracker.handle(stepEvent(4, 'b', 'STARTED'));
    await tracker.resync();
    expect(errors.map(e => e.message)).toEqual(['server down']);
    expect(tracker.state?.seq).toBe(1);
    fail = false;
    await tracker.resync();
    expect(tracker.state?.seq).toBe(4);
    expect(tracker.state?.steps.b.status).toBe('STARTED');
  });

  it('applies 1,000 shuffled events to the same end state as in order', async () => {
    const uuids = Array.from({ length: 250 }, (_, i) => `s${i}`);
    const events: StatusEvent[] = [];
    let seq = 1;
    for (const uuid of uuids) {
      events.push(stepEvent(++seq, uuid, 'STARTED'));
    }
    for (const uuid of uuids) {
      events.push(stepEvent(++seq, uuid, 'SUCCESS'));
    }
    while (events.length < 1000) {
      events.push(stepEvent(++seq, uuids[0], 'SUCCESS'));
    }
    const final: ApiRun = {
      ...apiRun(seq),
      steps: uuids.map(uuid => ({
        uuid,
        title: uuid,
        status: 'SUCCESS' as const
      }))
    };
    const { tracker } = setup(final);
    tracker.show({
      ...final,
      seq: 1,
      steps: uuids.map(uuid => ({
        uuid,
        title: uuid,
        status: 'PENDING' as const
      }))
    });
    const shuffled = [...events].reverse();
    for (const event of shuffled) {
      tracker.handle(event);
    }
    await tracker.resync();
    expect(tracker.state?.seq).toBe(seq);
    expect(
      Object.values(tracker.state?.steps ?? {}).every(
        s => s.status === 'SUCCESS'
      )
    ).toBe(true);
  });
});

describe('RunTracker and early events', () => {
  it('replays events that arrived before the run was shown', () => {
    const fetches: string[] = [];
    const tracker = new RunTracker(
      async id => {
        fetches.push(id);
        return apiRun(1);
      },
      () => undefined
    );
    tracker.show({ ...apiRun(9), id: 'older' });
    expect(tracker.handle(stepEvent(2, 'a', 'STARTED'))).toBe('other-run');
    expect(tracker.handle(stepEvent(3, 'a', 'SUCCESS'))).toBe('other-run');
    tracker.show(apiRun(1));
    expect(tracker.state?.seq).toBe(3);
    expect(tracker.state?.steps.a.status).toBe('SUCCESS');
    expect(fetches).toEqual([]);
  });
});

describe('cached steps', () => {
  it('come from GET runs/{id} with where their result came from', () => {
    const run = apiRun(3);
    run.steps = [
      {
        uuid: 'a',
        title: 'A',
        status: 'SUCCESS',
        cached: true,
        cached_from: 'run-0',
        run_reason: null
      },
      { uuid: 'b', title: 'B', status: 'PENDING', run_reason: 'key_changed' }
    ];
    const state = runStateFromApi(run);
    expect(state.steps.a).toMatchObject({
      cached: true,
      cached_from: 'run-0',
      run_reason: null
    });
    expect(state.steps.b).toMatchObject({
      cached: false,
      cached_from: null,
      run_reason: 'key_changed'
    });
  });

  it('come from a step event that goes straight to SUCCESS', () => {
    const start = runStateFromApi(apiRun(2));
    const event = {
      ...stepEvent(3, 'a', 'SUCCESS'),
      cached: true,
      cached_from: 'run-0'
    };
    const { state, outcome } = applyEvent(start, event);
    expect(outcome).toBe('applied');
    expect(state.steps.a).toMatchObject({
      status: 'SUCCESS',
      cached: true,
      cached_from: 'run-0'
    });
  });

  it('are not cached when the event says nothing of caching', () => {
    const start = runStateFromApi(apiRun(2));
    const { state } = applyEvent(start, stepEvent(3, 'a', 'STARTED'));
    expect(state.steps.a.cached).toBe(false);
    expect(state.steps.a.run_reason).toBeNull();
  });
});
