/** Editing a step: title, file, environment, kernel, variables, parameters. */
import React, { useEffect, useState } from 'react';

import { PipelineController, ViewState } from '../controller';
import { PipelineStep, stepKind } from '../model/pipeline';
import { draftOf, draftPatch, StepDraft } from '../model/stepDraft';
import { Choices, EnvField, JsonField, SelectField, TextField } from './fields';
import { KernelChoice, StepActions } from './StepDetails';
import { useTranslation } from './translation';

/** What the step form offers to choose from: the pipeline's files, installed kernels. */
function useChoices(
  actions: StepActions,
  stepUuid: string
): { files: string[]; kernels: KernelChoice[] } {
  const [files, setFiles] = useState<string[]>([]);
  const [kernels, setKernels] = useState<KernelChoice[]>([]);
  useEffect(() => {
    let current = true;
    void actions
      .stepFiles()
      .then(found => current && setFiles(found))
      .catch(() => current && setFiles([]));
    void actions
      .kernels()
      .then(found => current && setKernels(found))
      .catch(() => current && setKernels([]));
    return () => {
      current = false;
    };
  }, [actions, stepUuid]);
  return { files, kernels };
}

/** The fields only Orchest's format has: environment, kernel (notebooks), variables. */
function OrchestFields({
  draft,
  change,
  kernels
}: {
  draft: StepDraft;
  change: (patch: Partial<StepDraft>) => void;
  kernels: KernelChoice[];
}): JSX.Element {
  const trans = useTranslation();
  const kernelChoices: Array<[string, string]> = [
    ['', trans.__("The notebook's own kernel")],
    ...kernels.map(k => [k.name, k.displayName] as [string, string])
  ];
  return (
    <>
      <TextField
        label={trans.__('Environment')}
        name="environment"
        value={draft.environment}
        onChange={environment => change({ environment })}
      />
      {stepKind(draft.filePath) === 'notebook' && (
        <SelectField
          label={trans.__('Kernel')}
          name="kernel"
          value={draft.kernel}
          onChange={kernel => change({ kernel })}
        >
          <Choices
            choices={kernelChoices}
            current={draft.kernel}
            missing={trans.__('not installed here')}
          />
        </SelectField>
      )}
      <EnvField
        label={trans.__('Environment variables')}
        name="env_variables"
        text={draft.env}
        onChange={env => change({ env })}
      />
    </>
  );
}

function StepForm({
  controller,
  actions,
  step
}: {
  controller: PipelineController;
  actions: StepActions;
  step: PipelineStep;
}): JSX.Element {
  const trans = useTranslation();
  const { files, kernels } = useChoices(actions, step.uuid);
  const [draft, setDraft] = useState(() => draftOf(step));
  useEffect(() => setDraft(draftOf(step)), [step]);
  const change = (patch: Partial<StepDraft>) =>
    setDraft(previous => ({ ...previous, ...patch }));
  const elyra = controller.state.graph?.format === 'elyra';
  const patch = draftPatch(step, draft, !elyra);
  return (
    <form
      className="jp-orchest-form"
      data-step-editor={step.uuid}
      onSubmit={event => {
        event.preventDefault();
        if (patch && Object.keys(patch).length) {
          controller.updateStep(step.uuid, patch);
        }
      }}
    >
      <TextField
        label={trans.__('Title')}
        name="title"
        value={draft.title}
        onChange={title => change({ title })}
      />
      <SelectField
        label={trans.__('File')}
        name="file_path"
        value={draft.filePath}
        onChange={filePath => change({ filePath })}
      >
        <Choices
          choices={files.map(file => [file, file])}
          current={draft.filePath}
          missing={
            draft.filePath ? trans.__('not found') : trans.__('choose a file')
          }
        />
      </SelectField>
      {!elyra && (
        <OrchestFields draft={draft} change={change} kernels={kernels} />
      )}
      <JsonField
        label={trans.__('Parameters')}
        name="parameters"
        text={draft.parameters}
        onChange={parameters => change({ parameters })}
      />
      <button
        type="submit"
        className="jp-orchest-button jp-mod-accept"
        data-action="apply-step"
        disabled={patch === null}
      >
        {trans.__('Apply')}
      </button>
    </form>
  );
}

export function StepEditor({
  controller,
  actions,
  state
}: {
  controller: PipelineController;
  actions: StepActions;
  state: ViewState;
}): JSX.Element | null {
  const step = state.graph?.steps.find(s => s.uuid === state.inspected);
  return step ? (
    <StepForm controller={controller} actions={actions} step={step} />
  ) : null;
}
