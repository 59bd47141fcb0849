/** A run's own pipeline in a main-area tab, read-only: "<pipeline> · run <short id>". */
import { MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import React from 'react';

import { RunApp } from '../components/RunApp';
import { StepActions } from '../components/StepDetails';
import { TranslationContext } from '../components/translation';
import { RunViewController } from '../controllers/runView';
import { pipelineIcon } from '../icons';

/** The run's length in a tab title. */
const SHORT_ID = 8;

export class RunView extends ReactWidget {
  constructor(
    readonly controller: RunViewController,
    private readonly actions: StepActions,
    private readonly openPipeline: (path: string) => void,
    private readonly trans: TranslationBundle
  ) {
    super();
    // Not a jp-orchest-PipelineView: the pipeline's keybindings (Delete, Ctrl+A, Ctrl+Z)
    // do not act here.
    this.addClass('jp-orchest-RunView');
    this.node.tabIndex = -1;
  }

  /** Coming back to the tab compares the run's pipeline with the file again. */
  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    void this.controller.compare();
  }

  render(): JSX.Element {
    return (
      <TranslationContext.Provider value={this.trans}>
        <RunApp
          controller={this.controller}
          actions={this.actions}
          openPipeline={this.openPipeline}
        />
      </TranslationContext.Provider>
    );
  }
}

/** The tab of one run; its title names the pipeline once the run is loaded. */
export function runViewWidget(
  content: RunView,
  trans: TranslationBundle
): MainAreaWidget<RunView> {
  const widget = new MainAreaWidget({ content });
  const { controller } = content;
  const short = controller.runId.slice(0, SHORT_ID);
  widget.id = `orchest-run-${controller.runId}`;
  widget.title.icon = pipelineIcon;
  widget.title.closable = true;
  widget.title.label = trans.__('run %1', short);
  const named = () => {
    const name = controller.state.graph?.name;
    if (name) {
      widget.title.label = trans.__('%1 · run %2', name, short);
      widget.title.caption = trans.__(
        'Run %1 of %2, as it ran (read-only)',
        controller.runId,
        controller.state.path ?? name
      );
    }
  };
  controller.changed.connect(named);
  widget.disposed.connect(() => controller.dispose());
  return widget;
}
