import {
  duration,
  firstFailedStep,
  relativeToRoot,
  shouldNotify
} from '../model/runNotice';
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

describe('duration', () => {
  const at = (seconds: number) => new Date(seconds * 1000).toISOString();

  it('reads like a person says it', () => {
    expect(duration(at(0), at(0.25))).toBe('250 ms');
    expect(duration(at(0), at(12.34))).toBe('12.3 s');
    expect(duration(at(0), at(245))).toBe('4 min 5 s');
    expect(duration(at(0), at(7380))).toBe('2 h 3 min');
  });

  it('is empty when a time is missing or backwards', () => {
    expect(duration(null, at(1))).toBe('');
    expect(duration(at(5), at(1))).toBe('');
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

describe('relativeToRoot', () => {
  it('strips the server root', () => {
    expect(relativeToRoot('/srv/root/p/x.orchest', '/srv/root')).toBe(
      'p/x.orchest'
    );
    expect(relativeToRoot('/srv/root/p/x.orchest', '/srv/root/')).toBe(
      'p/x.orchest'
    );
    expect(relativeToRoot('/elsewhere/x.orchest', '/srv/root')).toBeNull();
    expect(relativeToRoot(null, '/srv/root')).toBeNull();
  });
});
