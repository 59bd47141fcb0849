import { PipelineStep } from '../model/pipeline';
import { stepsInRun } from '../model/runSteps';

function step(uuid: string, incoming: string[] = []): PipelineStep {
  return {
    uuid,
    title: uuid,
    filePath: `${uuid}.py`,
    kind: 'python',
    incoming,
    position: null,
    parameters: {},
    environment: '',
    kernel: '',
    env: {}
  };
}

// a -> b -> d, a -> c, e alone
const STEPS = [
  step('a'),
  step('b', ['a']),
  step('c', ['a']),
  step('d', ['b']),
  step('e')
];
const uuids = (steps: PipelineStep[]) => steps.map(s => s.uuid);

describe('stepsInRun', () => {
  it('runs every step in a full run', () => {
    expect(uuids(stepsInRun(STEPS, 'full', []))).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e'
    ]);
  });

  it('runs exactly the selection', () => {
    expect(uuids(stepsInRun(STEPS, 'selection', ['d', 'a']))).toEqual([
      'a',
      'd'
    ]);
  });

  it('runs the ancestors, with the selection only when inclusive', () => {
    expect(uuids(stepsInRun(STEPS, 'incoming', ['d']))).toEqual(['a', 'b']);
    expect(uuids(stepsInRun(STEPS, 'incoming', ['d'], true))).toEqual([
      'a',
      'b',
      'd'
    ]);
  });

  it('runs the selection and its descendants', () => {
    expect(uuids(stepsInRun(STEPS, 'descendants', ['b']))).toEqual(['b', 'd']);
    expect(uuids(stepsInRun(STEPS, 'descendants', ['a']))).toEqual([
      'a',
      'b',
      'c',
      'd'
    ]);
  });
});
