/** Editing a step's fields and the pipeline's properties; JSON fields refuse invalid JSON. */
import React, { useEffect, useState } from 'react';

import { PipelineController, ViewState } from '../controller';
import { PipelineGraph, PipelineStep } from '../model/pipeline';

/** The object a JSON text holds, or why it is not a JSON object. */
export function parseJsonObject(
  text: string
): { value: Record<string, unknown> } | { error: string } {
  try {
    const value = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { error: 'must be a JSON object, like {"alpha": 0.5}' };
    }
    return { value };
  } catch (err) {
    return { error: `is not valid JSON: ${(err as Error).message}` };
  }
}

function JsonField({
  label,
  name,
  text,
  onChange
}: {
  label: string;
  name: string;
  text: string;
  onChange: (text: string) => void;
}): JSX.Element {
  const parsed = parseJsonObject(text);
  return (
    <label className="jp-orchest-field">
      <span>{label}</span>
      <textarea
        className="jp-orchest-json"
        data-field={name}
        spellCheck={false}
        value={text}
        rows={Math.min(12, Math.max(3, text.split('\n').length))}
        onChange={event => onChange(event.target.value)}
      />
      {'error' in parsed && (
        <span className="jp-orchest-inline-error" data-field-error={name}>
          {label} {parsed.error}
        </span>
      )}
    </label>
  );
}

function TextField({
  label,
  name,
  value,
  onChange
}: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <label className="jp-orchest-field">
      <span>{label}</span>
      <input
        type="text"
        data-field={name}
        value={value}
        onChange={event => onChange(event.target.value)}
      />
    </label>
  );
}

const pretty = (value: Record<string, unknown>) =>
  JSON.stringify(value, null, 2);

function StepForm({
  controller,
  step
}: {
  controller: PipelineController;
  step: PipelineStep;
}): JSX.Element {
  const [title, setTitle] = useState(step.title);
  const [filePath, setFilePath] = useState(step.filePath);
  const [environment, setEnvironment] = useState(step.environment);
  const [kernel, setKernel] = useState(step.kernel);
  const [parameters, setParameters] = useState(pretty(step.parameters));
  useEffect(() => {
    setTitle(step.title);
    setFilePath(step.filePath);
    setEnvironment(step.environment);
    setKernel(step.kernel);
    setParameters(pretty(step.parameters));
  }, [step]);
  const parsed = parseJsonObject(parameters);
  const elyra = controller.state.graph?.format === 'elyra';
  const apply = () => {
    if (!('value' in parsed)) {
      return;
    }
    const patch: Record<string, unknown> = {};
    if (title !== step.title) {
      patch.title = title;
    }
    if (filePath !== step.filePath) {
      patch.file_path = filePath;
    }
    if (!elyra && environment !== step.environment) {
      patch.environment = environment;
    }
    if (!elyra && kernel !== step.kernel) {
      patch.kernel = kernel;
    }
    if (pretty(parsed.value) !== pretty(step.parameters)) {
      patch.parameters = parsed.value;
    }
    if (Object.keys(patch).length) {
      controller.updateStep(step.uuid, patch);
    }
  };
  return (
    <form
      className="jp-orchest-form"
      data-step-editor={step.uuid}
      onSubmit={event => {
        event.preventDefault();
        apply();
      }}
    >
      <TextField label="Title" name="title" value={title} onChange={setTitle} />
      <TextField
        label="File"
        name="file_path"
        value={filePath}
        onChange={setFilePath}
      />
      {!elyra && (
        <>
          <TextField
            label="Environment"
            name="environment"
            value={environment}
            onChange={setEnvironment}
          />
          <TextField
            label="Kernel"
            name="kernel"
            value={kernel}
            onChange={setKernel}
          />
        </>
      )}
      <JsonField
        label="Parameters"
        name="parameters"
        text={parameters}
        onChange={setParameters}
      />
      <button
        type="submit"
        className="jp-orchest-button jp-mod-accept"
        data-action="apply-step"
        disabled={!('value' in parsed)}
      >
        Apply
      </button>
    </form>
  );
}

export function StepEditor({
  controller,
  state
}: {
  controller: PipelineController;
  state: ViewState;
}): JSX.Element | null {
  const step = state.graph?.steps.find(s => s.uuid === state.inspected);
  return step ? <StepForm controller={controller} step={step} /> : null;
}

export function PipelineProperties({
  controller,
  graph
}: {
  controller: PipelineController;
  graph: PipelineGraph;
}): JSX.Element {
  const [name, setName] = useState(graph.name);
  const [parameters, setParameters] = useState(pretty(graph.parameters));
  const [settings, setSettings] = useState(pretty(graph.settings));
  useEffect(() => {
    setName(graph.name);
    setParameters(pretty(graph.parameters));
    setSettings(pretty(graph.settings));
  }, [graph]);
  const elyra = graph.format === 'elyra';
  const parsedParameters = parseJsonObject(parameters);
  const parsedSettings = parseJsonObject(settings);
  const valid = 'value' in parsedParameters && 'value' in parsedSettings;
  return (
    <form
      className="jp-orchest-form"
      data-pipeline-editor=""
      onSubmit={event => {
        event.preventDefault();
        if (!('value' in parsedParameters) || !('value' in parsedSettings)) {
          return;
        }
        const patch: Record<string, unknown> = {};
        if (name !== graph.name) {
          patch.name = name;
        }
        if (
          !elyra &&
          pretty(parsedParameters.value) !== pretty(graph.parameters)
        ) {
          patch.parameters = parsedParameters.value;
        }
        if (!elyra && pretty(parsedSettings.value) !== pretty(graph.settings)) {
          patch.settings = parsedSettings.value;
        }
        if (Object.keys(patch).length) {
          controller.updatePipeline(patch);
        }
      }}
    >
      <TextField label="Name" name="name" value={name} onChange={setName} />
      {!elyra && (
        <>
          <JsonField
            label="Pipeline parameters"
            name="pipeline-parameters"
            text={parameters}
            onChange={setParameters}
          />
          <JsonField
            label="Settings"
            name="settings"
            text={settings}
            onChange={setSettings}
          />
        </>
      )}
      <button
        type="submit"
        className="jp-orchest-button jp-mod-accept"
        data-action="apply-pipeline"
        disabled={!valid}
      >
        Apply
      </button>
    </form>
  );
}
