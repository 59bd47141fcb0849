/** The pipeline view's toolbar: run actions, abort, backend and failure policy, session. */
import React from 'react';

import { FailurePolicy, PipelineController, ViewState } from '../controller';
import { SessionControl } from './SessionControl';
import { useTranslation } from './translation';

export const COMMANDS = {
  runAll: 'orchest:run-all',
  runChanged: 'orchest:run-changed',
  runSelected: 'orchest:run-selected',
  runIncoming: 'orchest:run-incoming',
  runDescendants: 'orchest:run-descendants',
  abort: 'orchest:abort',
  addStep: 'orchest:add-step',
  tidyUp: 'orchest:tidy-up',
  undo: 'orchest:undo',
  redo: 'orchest:redo'
};

interface ButtonProps {
  command: string;
  label: string;
  title: string;
  disabled: boolean;
  onClick: () => void;
  primary?: boolean;
}

function CommandButton({
  command,
  label,
  title,
  disabled,
  onClick,
  primary
}: ButtonProps) {
  return (
    <button
      type="button"
      className={`jp-orchest-button ${primary ? 'jp-mod-accept' : ''}`}
      data-command={command}
      title={title}
      disabled={disabled}
      onClick={onClick}
    >
      {label}
    </button>
  );
}

export function Toolbar({
  controller,
  state
}: {
  controller: PipelineController;
  state: ViewState;
}): JSX.Element {
  const noGraph = state.graph === null || state.starting;
  const noSelection = noGraph || state.selected.length === 0;
  const count = state.selected.length;
  const trans = useTranslation();
  return (
    <div className="jp-orchest-toolbar" role="toolbar">
      <CommandButton
        command={COMMANDS.runAll}
        label={trans.__('Run all')}
        title={trans.__('Run every step')}
        disabled={noGraph}
        onClick={() => void controller.runAll()}
        primary
      />
      <CommandButton
        command={COMMANDS.runChanged}
        label={trans.__('Run changed')}
        title={trans.__(
          'Run the steps whose code, parameters or inputs changed (and what depends on them); the others reuse their last results'
        )}
        disabled={noGraph}
        onClick={() => void controller.runChanged()}
      />
      <CommandButton
        command={COMMANDS.runSelected}
        label={
          count
            ? trans.__('Run selected (%1)', count)
            : trans.__('Run selected')
        }
        title={trans.__('Run exactly the selected steps, in DAG order')}
        disabled={noSelection}
        onClick={() => void controller.runSelected()}
      />
      <CommandButton
        command={COMMANDS.runIncoming}
        label={trans.__('Run ancestors')}
        title={trans.__('Run the steps the selection depends on')}
        disabled={noSelection}
        onClick={() => void controller.runIncoming()}
      />
      <label
        className="jp-orchest-check"
        title={trans.__('Also run the selected steps after their ancestors')}
      >
        <input
          type="checkbox"
          data-option="inclusive"
          checked={state.inclusive}
          onChange={event => controller.setInclusive(event.target.checked)}
        />
        {trans.__('include selection')}
      </label>
      <CommandButton
        command={COMMANDS.runDescendants}
        label={trans.__('Run descendants')}
        title={trans.__('Run the selection and everything downstream of it')}
        disabled={noSelection}
        onClick={() => void controller.runDescendants()}
      />
      <CommandButton
        command={COMMANDS.abort}
        label={trans.__('Abort')}
        title={trans.__('Abort the shown run')}
        disabled={!controller.canAbort}
        onClick={() => void controller.abort()}
      />
      <span className="jp-orchest-toolbar-separator" />
      <CommandButton
        command={COMMANDS.addStep}
        label={trans.__('Add step')}
        title={trans.__(
          'Add steps from files (or drag files from the file browser onto the canvas)'
        )}
        disabled={state.graph === null}
        onClick={() => void controller.addStepFromPicker()}
      />
      <CommandButton
        command={COMMANDS.tidyUp}
        label={trans.__('Tidy up')}
        title={trans.__(
          'Lay the steps out again, parents left of children (undoable)'
        )}
        disabled={state.graph === null || state.graph.steps.length === 0}
        onClick={() => controller.tidyUp()}
      />
      <CommandButton
        command={COMMANDS.undo}
        label={trans.__('Undo')}
        title={trans.__('Undo the last edit (Ctrl+Z)')}
        disabled={!state.canUndo}
        onClick={() => controller.undo()}
      />
      <CommandButton
        command={COMMANDS.redo}
        label={trans.__('Redo')}
        title={trans.__('Redo (Ctrl+Shift+Z)')}
        disabled={!state.canRedo}
        onClick={() => controller.redo()}
      />
      <span className="jp-orchest-toolbar-spacer" />
      <label
        className="jp-orchest-select"
        title={trans.__('Where the steps run')}
      >
        {trans.__('Backend')}
        <select
          data-option="backend"
          value={state.backend}
          onChange={event => controller.setBackend(event.target.value)}
        >
          {state.backends.map(name => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label
        className="jp-orchest-select"
        title={trans.__('What a failing step does to the rest of the run')}
      >
        {trans.__('On failure')}
        <select
          data-option="failure-policy"
          value={state.failurePolicy}
          onChange={event =>
            controller.setFailurePolicy(event.target.value as FailurePolicy)
          }
        >
          <option value="continue">
            {trans.__('continue other branches')}
          </option>
          <option value="fail_fast">{trans.__('stop the run')}</option>
        </select>
      </label>
      <SessionControl controller={controller} state={state} />
    </div>
  );
}
