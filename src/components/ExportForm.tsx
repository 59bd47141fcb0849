/** The "Export pipeline" form: its values, the request they make, and the form itself. */
import { TranslationBundle } from '@jupyterlab/translation';
import React, { useState } from 'react';

import { ExportRequest, ExportTarget } from '../api';
import { useTranslation } from './translation';

export interface ExportFormValues {
  target: ExportTarget;
  volume: string;
  registry: string;
  namespace: string;
  schedule: string;
}

/** The export targets with their names in the user's language. */
function exportTargets(
  trans: TranslationBundle
): { value: ExportTarget; label: string }[] {
  return [
    { value: 'airflow', label: trans.__('Airflow DAG (DockerOperator)') },
    { value: 'kfp', label: trans.__('Kubeflow Pipelines package') },
    { value: 'argo', label: trans.__('Argo Workflows manifests') }
  ];
}

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
function volumeLabel(target: ExportTarget, trans: TranslationBundle): string {
  return target === 'airflow'
    ? trans.__('Host directory to mount (default: the pipeline directory)')
    : trans.__('PersistentVolumeClaim holding the pipeline directory');
}

export function ExportForm({
  initial,
  onChange
}: {
  initial: ExportFormValues;
  onChange: (values: ExportFormValues) => void;
}): JSX.Element {
  const trans = useTranslation();
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
        <span>{trans.__('Target')}</span>
        <select
          className="jp-mod-styled"
          data-field="target"
          value={values.target}
          onChange={e => set({ target: e.target.value as ExportTarget })}
        >
          {exportTargets(trans).map(({ value, label }) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      {field(volumeLabel(values.target, trans), 'volume')}
      {field(
        trans.__('Image registry prefix'),
        'registry',
        'registry.example.com/team'
      )}
      {values.target === 'argo' &&
        field(trans.__('Kubernetes namespace'), 'namespace', 'default')}
      {values.target !== 'kfp' &&
        field(trans.__('Cron schedule'), 'schedule', '0 3 * * *')}
    </div>
  );
}
