/** The "Export pipeline" form: its values, the request they make, and the form itself. */
import React, { useState } from 'react';

import { ExportRequest, ExportTarget } from '../api';

export interface ExportFormValues {
  target: ExportTarget;
  volume: string;
  registry: string;
  namespace: string;
  schedule: string;
}

export const EXPORT_TARGETS: { value: ExportTarget; label: string }[] = [
  { value: 'airflow', label: 'Airflow DAG (DockerOperator)' },
  { value: 'kfp', label: 'Kubeflow Pipelines package' },
  { value: 'argo', label: 'Argo Workflows manifests' }
];

export function defaultExportFormValues(): ExportFormValues {
  return {
    target: 'airflow',
    volume: '',
    registry: '',
    namespace: '',
    schedule: ''
  };
}

/** The `POST pipelines/export` body of the form: the fields filled in, trimmed. */
export function exportRequestFromForm(
  pipelinePath: string,
  values: ExportFormValues
): ExportRequest {
  const request: ExportRequest = {
    pipeline_path: pipelinePath,
    target: values.target
  };
  for (const name of ['volume', 'registry', 'namespace', 'schedule'] as const) {
    const value = values[name].trim();
    if (value) {
      request[name] = value;
    }
  }
  return request;
}

const FIELD_STYLE = { display: 'flex', flexDirection: 'column' as const };

/** Where the shared volume is, per target (what the `volume` field means). */
function volumeLabel(target: ExportTarget): string {
  return target === 'airflow'
    ? 'Host directory to mount (default: the pipeline directory)'
    : 'PersistentVolumeClaim holding the pipeline directory';
}

export function ExportForm({
  initial,
  onChange
}: {
  initial: ExportFormValues;
  onChange: (values: ExportFormValues) => void;
}): JSX.Element {
  const [values, setValues] = useState(initial);
  const set = (patch: Partial<ExportFormValues>) => {
    const next = { ...values, ...patch };
    setValues(next);
    onChange(next);
  };
  const field = (label: string, name: keyof ExportFormValues, hint = '') => (
    <label className="jp-orchest-export-field" style={FIELD_STYLE}>
      <span>{label}</span>
      <input
        className="jp-mod-styled"
        data-field={name}
        placeholder={hint}
        value={values[name]}
        onChange={e => set({ [name]: e.target.value })}
      />
    </label>
  );
  return (
    <div className="jp-orchest-export-form" style={{ minWidth: 420 }}>
      <label className="jp-orchest-export-field" style={FIELD_STYLE}>
        <span>Target</span>
        <select
          className="jp-mod-styled"
          data-field="target"
          value={values.target}
          onChange={e => set({ target: e.target.value as ExportTarget })}
        >
          {EXPORT_TARGETS.map(({ value, label }) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      {field(volumeLabel(values.target), 'volume')}
      {field('Image registry prefix', 'registry', 'registry.example.com/team')}
      {values.target === 'argo' &&
        field('Kubernetes namespace', 'namespace', 'default')}
      {values.target !== 'kfp' &&
        field('Cron schedule', 'schedule', '0 3 * * *')}
    </div>
  );
}
