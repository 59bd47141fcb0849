/** The Pipeline document: a DocumentWidget around the React pipeline view, and its factory. */
import { ReactWidget } from '@jupyterlab/apputils';
import {
  ABCWidgetFactory,
  DocumentRegistry,
  DocumentWidget
} from '@jupyterlab/docregistry';
import React from 'react';

import { OrchestApi } from '../api';
import { PipelineApp } from '../components/PipelineApp';
import { StepActions } from '../components/StepDetails';
import { PipelineController } from '../controller';
import { OrchestEvents } from '../events';
import { pipelineIcon } from '../icons';

export const FACTORY = 'Pipeline';

export class PipelineView extends ReactWidget {
  constructor(
    readonly controller: PipelineController,
    private readonly actions: StepActions
  ) {
    super();
    this.addClass('jp-orchest-PipelineView');
  }

  render(): JSX.Element {
    return <PipelineApp controller={this.controller} actions={this.actions} />;
  }
}

export class PipelineDocument extends DocumentWidget<
  PipelineView,
  DocumentRegistry.ICodeModel
> {
  get controller(): PipelineController {
    return this.content.controller;
  }
}

export interface PipelineFactoryDeps {
  api: OrchestApi;
  events: OrchestEvents;
  /** Opening files and executed notebooks, for the pipeline at this root-relative path. */
  actions: (pipelinePath: () => string) => StepActions;
}

export class PipelineWidgetFactory extends ABCWidgetFactory<
  PipelineDocument,
  DocumentRegistry.ICodeModel
> {
  constructor(
    options: DocumentRegistry.IWidgetFactoryOptions<PipelineDocument>,
    private readonly deps: PipelineFactoryDeps
  ) {
    super(options);
  }

  protected createNewWidget(
    context: DocumentRegistry.IContext<DocumentRegistry.ICodeModel>
  ): PipelineDocument {
    const path = () => context.localPath;
    const controller = new PipelineController(this.deps.api, this.deps.events, {
      path,
      saveIfDirty: async () => {
        if (context.model.dirty) {
          await context.save();
        }
      }
    });
    const content = new PipelineView(controller, this.deps.actions(path));
    const widget = new PipelineDocument({ context, content });
    widget.title.icon = pipelineIcon;
    let timer: number | undefined;
    const reload = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(
        () => void controller.load(context.model.toString()),
        50
      );
    };
    void context.ready.then(() => {
      void controller.load(context.model.toString());
      context.model.contentChanged.connect(reload);
    });
    widget.disposed.connect(() => {
      window.clearTimeout(timer);
      controller.dispose();
    });
    return widget;
  }
}
