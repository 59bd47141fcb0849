import { firstFailedStep, shouldNotify } from '../model/runNotice';
import { ApiRun } from '../model/runState';

describe('shouldNotify', () => {
  it('follows the setting for runs started here', () => {
    expect(shouldNotify('on-failure', 'mine', 'FAILURE')).toBe(true);
    expect(shouldNotify('on-failure', 'mine', 'ABORTED')).toBe(true);
    expect(shouldNotify('on-failure', 'mine', 'SUCCESS')).toBe(false);
    expect(shouldNotify('every-end', 'mine', 'SUCCESS')).toBe(true);
    expect(shouldNotify('never', 'mine', 'FAILURE')).toBe(false);
  });

  it('tells about failed job runs only, unless notifications are off', () => {
    expect(shouldNotify('on-failure', 'job', 'FAILURE')).toBe(true);
    expect(shouldNotify('every-end', 'job', 'SUCCESS')).toBe(false);
    expect(shouldNotify('every-end', 'job', 'ABORTED')).toBe(false);
    expect(shouldNotify('never', 'job', 'FAILURE')).toBe(false);
  });

  it('never tells about a run that has not ended', () => {
    expect(shouldNotify('every-end', 'mine', 'STARTED')).toBe(false);
  });
});

describe('firstFailedStep', () => {
  it('finds the failed step in run order', () => {
    const run = {
      id: 'r',
      steps: [
        { uuid: 'a', title: 'A', status: 'SUCCESS' },
        { uuid: 'b', title: 'B', status: 'FAILURE' },
        { uuid: 'c', title: 'C', status: 'FAILURE' }
      ]
    } as unknown as ApiRun;
    expect(firstFailedStep(run)?.uuid).toBe('b');
    expect(firstFailedStep({ ...run, steps: [] })).toBeNull();
  });
});
