/** The "Create job" form: its values, the request they make, and the form itself. */
import React, { useState } from 'react';

import { JobRequest, ParameterGrid } from '../api';
import { useTranslation } from './translation';

export interface JobsFormValues {
  name: string;
  when: 'now' | 'cron' | 'at';
  cron: string;
  timezone: string;
  at: string;
  grid: string;
  maxParallel: string;
  retries: string;
}

export function defaultJobsFormValues(name: string): JobsFormValues {
  return {
    name,
    when: 'cron',
    cron: '0 3 * * *',
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    at: '',
    grid: '',
    maxParallel: '1',
    retries: '0'
  };
}

/** The `POST jobs` body of the form; an Error naming the field for what cannot be sent. */
export function jobRequestFromForm(
  pipelinePath: string,
  values: JobsFormValues
): JobRequest {
  const request: JobRequest = { pipeline_path: pipelinePath };
  if (values.name.trim()) {
    request.name = values.name.trim();
  }
  if (values.when === 'cron') {
    request.schedule = { cron: values.cron.trim(), timezone: values.timezone };
  } else if (values.when === 'at') {
    if (!values.at) {
      throw new Error('schedule.at: pick a date and time.');
    }
    request.schedule = {
      at: new Date(values.at).toISOString()
    };
  }
  if (values.grid.trim()) {
    let grid: unknown;
    try {
      grid = JSON.parse(values.grid);
    } catch (err) {
      throw new Error(`parameter_grid: not JSON (${(err as Error).message}).`);
    }
    if (typeof grid !== 'object' || grid === null || Array.isArray(grid)) {
      throw new Error(
        'parameter_grid: must be an object such as {"pipeline_parameters": {"a": [1, 2]}}.'
      );
    }
    request.parameter_grid = grid as ParameterGrid;
  }
  for (const [field, text] of [
    ['max_parallel', values.maxParallel],
    ['retries', values.retries]
  ] as const) {
    const number = Number(text);
    if (!Number.isInteger(number)) {
      throw new Error(`${field}: must be a whole number.`);
    }
    request[field] = number;
  }
  return request;
}

const FIELD_STYLE: React.CSSProperties = {
  display: 'flex',
  flexDirection: 'column',
  gap: 2,
  marginBottom: 8
};

/** The form's inputs; ``onChange`` gets every new set of values. */
export function JobsForm({
  initial,
  onChange
}: {
  initial: JobsFormValues;
  onChange: (values: JobsFormValues) => void;
}): JSX.Element {
  const trans = useTranslation();
  const [values, setValues] = useState(initial);
  const set = (patch: Partial<JobsFormValues>) => {
    const next = { ...values, ...patch };
    setValues(next);
    onChange(next);
  };
  const field = (
    label: string,
    name: keyof JobsFormValues,
    props: React.InputHTMLAttributes<HTMLInputElement> = {}
  ) => (
    <label className="jp-orchest-jobs-field" style={FIELD_STYLE}>
      <span>{label}</span>
      <input
        className="jp-mod-styled"
        data-field={name}
        value={values[name]}
        onChange={e => set({ [name]: e.target.value })}
        {...props}
      />
    </label>
  );
  return (
    <div className="jp-orchest-jobs-form" style={{ minWidth: 420 }}>
      {field(trans.__('Name'), 'name')}
      <label className="jp-orchest-jobs-field" style={FIELD_STYLE}>
        <span>{trans.__('When')}</span>
        <select
          className="jp-mod-styled"
          data-field="when"
          value={values.when}
          onChange={e =>
            set({ when: e.target.value as JobsFormValues['when'] })
          }
        >
          <option value="now">{trans.__('Once, now')}</option>
          <option value="at">{trans.__('Once, at a time')}</option>
          <option value="cron">{trans.__('On a cron schedule')}</option>
        </select>
      </label>
      {values.when === 'cron' && field(trans.__('Cron'), 'cron')}
      {values.when === 'cron' && field(trans.__('Time zone'), 'timezone')}
      {values.when === 'at' &&
        field(trans.__('At'), 'at', { type: 'datetime-local' })}
      <label className="jp-orchest-jobs-field" style={FIELD_STYLE}>
        <span>
          {trans.__('Parameter grid (JSON, one run per combination)')}
        </span>
        <textarea
          className="jp-mod-styled"
          data-field="grid"
          rows={3}
          placeholder='{"pipeline_parameters": {"a": [1, 2]}, "Step title": {"b": ["x", "y"]}}'
          value={values.grid}
          onChange={e => set({ grid: e.target.value })}
        />
      </label>
      {field(trans.__('Runs at once'), 'maxParallel', {
        type: 'number',
        min: 1
      })}
      {field(trans.__('Retries of a failed step'), 'retries', {
        type: 'number',
        min: 0
      })}
    </div>
  );
}
