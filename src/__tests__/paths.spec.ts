import {
  joinPath,
  relativePath,
  renamedStepFiles,
  stepsUsing
} from '../model/paths';
import { PipelineStep } from '../model/pipeline';

function step(uuid: string, filePath: string): PipelineStep {
  return {
    uuid,
    title: uuid,
    filePath,
    kind: 'python',
    incoming: [],
    position: null,
    parameters: {},
    environment: '',
    kernel: ''
  };
}

const STEPS = [
  step('a', 'a.py'),
  step('b', 'lib/b.py'),
  step('c', '../shared/c.py'),
  step('d', './a.py')
];

describe('joinPath and relativePath', () => {
  it('resolve . and .. and go back', () => {
    expect(joinPath('p', '../shared/c.py')).toBe('shared/c.py');
    expect(joinPath('', './a.py')).toBe('a.py');
    expect(relativePath('p', 'shared/c.py')).toBe('../shared/c.py');
    expect(relativePath('p', 'p/lib/b.py')).toBe('lib/b.py');
  });
});

describe('renamedStepFiles', () => {
  it('follows a renamed file, however the step spells its path', () => {
    expect(renamedStepFiles(STEPS, 'p/x.orchest', 'p/a.py', 'p/z.py')).toEqual([
      ['a', 'z.py'],
      ['d', 'z.py']
    ]);
  });

  it('follows a file moved to another directory', () => {
    expect(
      renamedStepFiles(STEPS, 'p/x.orchest', 'shared/c.py', 'p/lib/c.py')
    ).toEqual([['c', 'lib/c.py']]);
  });

  it('follows a renamed directory', () => {
    expect(
      renamedStepFiles(STEPS, 'p/x.orchest', 'p/lib', 'p/library')
    ).toEqual([['b', 'library/b.py']]);
  });

  it('changes nothing when the pipeline moved along with its directory', () => {
    expect(renamedStepFiles(STEPS, 'p/x.orchest', 'p', 'q')).toEqual([]);
    expect(renamedStepFiles(STEPS, 'q/x.orchest', 'p', 'q')).toEqual([]);
  });

  it('does not take a file for a directory with the same prefix', () => {
    expect(renamedStepFiles(STEPS, 'p/x.orchest', 'p/a', 'p/e')).toEqual([]);
  });
});

describe('stepsUsing', () => {
  it('finds the steps of a deleted file or directory', () => {
    expect(stepsUsing(STEPS, 'p/x.orchest', 'p/a.py')).toEqual(['a', 'd']);
    expect(stepsUsing(STEPS, 'p/x.orchest', 'shared')).toEqual(['c']);
    expect(stepsUsing(STEPS, 'p/x.orchest', 'p/other.py')).toEqual([]);
  });
});
