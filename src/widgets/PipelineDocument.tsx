/** The Pipeline document: a DocumentWidget around the React pipeline view, and its factory. */
import { ReactWidget } from '@jupyterlab/apputils';
import { Drag } from '@lumino/dragdrop';
import { Message } from '@lumino/messaging';
import { TranslationBundle } from '@jupyterlab/translation';
import {
  ABCWidgetFactory,
  DocumentRegistry,
  DocumentWidget
} from '@jupyterlab/docregistry';
import React from 'react';

import { OrchestApi } from '../api';
import { PipelineApp } from '../components/PipelineApp';
import { TranslationContext } from '../components/translation';
import { StepActions } from '../components/StepDetails';
import { PipelineController } from '../controller';
import { OrchestEvents } from '../events';
import { changedSpan } from '../model/changedSpan';
import { PipelineGraph } from '../model/pipeline';
import { Preferences } from '../model/preferences';
import { pipelineIcon } from '../icons';

export const FACTORY = 'Pipeline';

/** Replace only the part of the text that differs (a small change stays a small one). */
function replaceChanged(
  source: {
    getSource(): string;
    updateSource(start: number, end: number, value?: string): void;
  },
  text: string
): void {
  const [start, oldEnd, newEnd] = changedSpan(source.getSource(), text);
  if (start !== oldEnd || start !== newEnd) {
    source.updateSource(start, oldEnd, text.slice(start, newEnd));
  }
}

/** What the file browser puts on a drag: the dragged items' paths. */
const CONTENTS_MIME = 'application/x-jupyter-icontents';

export class PipelineView extends ReactWidget {
  constructor(
    readonly controller: PipelineController,
    private readonly actions: StepActions,
    private readonly localPath: (path: string) => string,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-orchest-PipelineView');
    // Focusable: a click on the canvas focuses the view, where its keybindings apply
    // (schema/pipeline-commands.json: Delete, Ctrl+A, Ctrl+Z act on this pipeline only).
    this.node.tabIndex = -1;
    for (const type of ['lm-dragenter', 'lm-dragover', 'lm-drop']) {
      this.node.addEventListener(type, this);
    }
  }

  /** An activated view takes the focus, so its keyboard shortcuts apply at once. */
  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    if (!this.node.contains(document.activeElement)) {
      this.node.focus({ preventScroll: true });
    }
  }

  /** Files dragged from the file browser become steps where they are dropped. */
  handleEvent(event: Event): void {
    const drag = event as Drag.Event;
    if (!drag.mimeData?.hasData(CONTENTS_MIME)) {
      return;
    }
    drag.preventDefault();
    drag.stopPropagation();
    if (event.type !== 'lm-drop') {
      drag.dropAction = drag.proposedAction;
      return;
    }
    drag.dropAction = drag.proposedAction;
    const paths = (drag.mimeData.getData(CONTENTS_MIME) as string[]).map(
      this.localPath
    );
    const at =
      this.controller.screenToFlow?.({ x: drag.clientX, y: drag.clientY }) ??
      null;
    this.controller.addFiles(paths, at);
  }

  render(): JSX.Element {
    return (
      <TranslationContext.Provider value={this.trans}>
        <PipelineApp controller={this.controller} actions={this.actions} />
      </TranslationContext.Provider>
    );
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
  /** The extension's strings in the user's language. */
  trans: TranslationBundle;
  /** The user's settings now (a new view starts from them). */
  preferences: () => Preferences;
  /** Opening files and executed notebooks, for the pipeline at this root-relative path. */
  actions: (pipelinePath: () => string) => StepActions;
  /** A contents path (which may name a drive) as a path relative to the root dir. */
  localPath: (path: string) => string;
  /** Ask about unsaved step files (relative to the pipeline at a contents path) before a
   * run; false: cancel. */
  settleStepFiles: (
    pipelinePath: string,
    filePaths: string[]
  ) => Promise<boolean>;
  /** A file dialog: the chosen files' paths relative to the root dir. */
  pickFiles: (directory: string) => Promise<string[]>;
  /** Tell the user a change needs Orchest's format; offer a `.orchest` copy. */
  offerOrchestCopy: (
    reason: string,
    graph: PipelineGraph,
    pipelinePath: string
  ) => Promise<void>;
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
      trans: this.deps.trans,
      settleStepFiles: filePaths =>
        this.deps.settleStepFiles(context.path, filePaths),
      isDirty: () => context.model.dirty,
      setText: (text, unsaved) => {
        replaceChanged(context.model.sharedModel, text);
        context.model.dirty = unsaved;
      },
      offerOrchestCopy: (reason, graph) =>
        this.deps.offerOrchestCopy(reason, graph, path()),
      pickFiles: directory => this.deps.pickFiles(directory),
      preferences: () => this.deps.preferences()
    });
    const content = new PipelineView(
      controller,
      this.deps.actions(path),
      this.deps.localPath,
      this.deps.trans
    );
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
      context.pathChanged.connect(() => void controller.pathChanged());
      context.model.stateChanged.connect((_, change) => {
        if (change.name === 'dirty' && !change.newValue) {
          controller.markSaved(context.model.toString());
        }
      });
    });
    widget.disposed.connect(() => {
      window.clearTimeout(timer);
      controller.dispose();
    });
    return widget;
  }
}
