import { nextNodes } from '../components/graphNodes';
import {
  applyBuildEvent,
  BUILD_SCHEMA,
  BuildEvent,
  withBuilds
} from '../model/environmentBuild';
import { layoutSteps } from '../model/layout';
import { PipelineGraph } from '../model/pipeline';
import { ApiRun, runStateFromApi } from '../model/runState';

function buildEvent(step: string, status: BuildEvent['status']): BuildEvent {
  return {
    schema_id: BUILD_SCHEMA,
    run_id: 'run-1',
    pipeline_uuid: 'p',
    step_uuid: step,
    environment_uuid: 'env-1',
    environment: 'tiny',
    image: 'orchest-ext/environment-env-1:abc',
    status
  };
}

function run(
  statuses: Record<string, string>
): ReturnType<typeof runStateFromApi> {
  const api: ApiRun = {
    id: 'run-1',
    pipeline_uuid: 'p',
    run_type: 'full',
    status: 'STARTED',
    seq: 3,
    created_time: '2026-01-01T00:00:00Z',
    steps: Object.entries(statuses).map(([uuid, status]) => ({
      uuid,
      title: uuid,
      status: status as never,
      started_time: '2026-01-01T00:00:01Z'
    }))
  };
  return runStateFromApi(api);
}

describe('environment builds', () => {
  it('keeps the steps that wait for a build until it is built or failed', () => {
    let builds = applyBuildEvent({}, buildEvent('a', 'BUILDING'));
    builds = applyBuildEvent(builds, buildEvent('b', 'BUILDING'));
    expect(builds).toEqual({ a: 'tiny', b: 'tiny' });
    builds = applyBuildEvent(builds, buildEvent('a', 'BUILT'));
    builds = applyBuildEvent(builds, buildEvent('b', 'FAILED'));
    expect(builds).toEqual({});
  });

  it('shows a STARTED step waiting for a build as BUILDING, and no other', () => {
    const shown = withBuilds(
      run({ a: 'STARTED', b: 'PENDING', c: 'STARTED' }),
      {
        a: 'tiny',
        b: 'tiny'
      }
    );
    expect(shown.steps.a.status).toBe('BUILDING');
    expect(shown.steps.a.message).toBe('Building environment tiny');
    expect(shown.steps.b.status).toBe('PENDING');
    expect(shown.steps.c.status).toBe('STARTED');
    const unchanged = run({ a: 'SUCCESS' });
    expect(withBuilds(unchanged, { a: 'tiny' })).toBe(unchanged);
  });

  it('gives the node of a building step data-status BUILDING', () => {
    const graph = {
      steps: [
        { uuid: 'a', title: 'A', filePath: 'a.sh', kind: 'shell', incoming: [] }
      ]
    } as unknown as PipelineGraph;
    const nodes = nextNodes([], {
      graph,
      layout: layoutSteps(graph.steps),
      run: withBuilds(run({ a: 'STARTED' }), { a: 'tiny' }),
      issues: [],
      now: Date.parse('2026-01-01T00:00:03Z')
    });
    expect(nodes[0].data.status).toBe('BUILDING');
    expect(nodes[0].data.duration).not.toBe('');
  });
});
