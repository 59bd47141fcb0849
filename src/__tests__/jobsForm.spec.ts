import {
  defaultJobsFormValues,
  jobRequestFromForm
} from '../components/JobsForm';

describe('jobRequestFromForm', () => {
  const values = { ...defaultJobsFormValues('nightly'), timezone: 'UTC' };

  it('makes a cron job with a grid', () => {
    const request = jobRequestFromForm('p/a.orchest', {
      ...values,
      grid: '{"pipeline_parameters": {"a": [1, 2]}, "Train": {"b": ["x"]}}',
      maxParallel: '2',
      retries: '1'
    });
    expect(request).toEqual({
      pipeline_path: 'p/a.orchest',
      name: 'nightly',
      schedule: { cron: '0 3 * * *', timezone: 'UTC' },
      parameter_grid: {
        pipeline_parameters: { a: [1, 2] },
        Train: { b: ['x'] }
      },
      max_parallel: 2,
      retries: 1
    });
  });

  it('runs once now without a schedule', () => {
    const request = jobRequestFromForm('a.orchest', { ...values, when: 'now' });
    expect(request.schedule).toBeUndefined();
  });

  it('names the field it cannot send', () => {
    expect(() =>
      jobRequestFromForm('a.orchest', { ...values, grid: '{nope' })
    ).toThrow(/^parameter_grid: not JSON/);
    expect(() =>
      jobRequestFromForm('a.orchest', { ...values, grid: '[1]' })
    ).toThrow(/^parameter_grid: must be an object/);
    expect(() =>
      jobRequestFromForm('a.orchest', { ...values, when: 'at', at: '' })
    ).toThrow(/^schedule.at/);
    expect(() =>
      jobRequestFromForm('a.orchest', { ...values, retries: '1.5' })
    ).toThrow(/^retries/);
  });
});
