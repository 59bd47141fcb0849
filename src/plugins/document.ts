/** The pipeline document: file types, the pipeline view's widget factory and its tracker. */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { WidgetTracker } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { FileDialog } from '@jupyterlab/filebrowser';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

import { pipelineIcon } from '../icons';
import { offerOrchestCopy, stepActions } from '../openers';
import { settlePipelineStepFiles } from '../unsavedFiles';
import {
  FILE_TYPES,
  IOrchestService,
  IOrchestSettings,
  IPipelineTracker,
  TRANSLATION_DOMAIN
} from '../tokens';
import {
  FACTORY,
  PipelineDocument,
  PipelineWidgetFactory
} from '../widgets/PipelineDocument';

const STEP_FILE = /\.(ipynb|py|sh|r)$/i;

function addFileTypes(app: JupyterFrontEnd, trans: TranslationBundle): void {
  app.docRegistry.addFileType({
    name: FILE_TYPES.orchest,
    displayName: trans.__('Orchest pipeline'),
    extensions: ['.orchest'],
    mimeTypes: ['application/json'],
    contentType: 'file',
    fileFormat: 'text',
    icon: pipelineIcon
  });
  app.docRegistry.addFileType({
    name: FILE_TYPES.elyra,
    displayName: trans.__('Elyra pipeline'),
    extensions: ['.pipeline'],
    mimeTypes: ['application/json'],
    contentType: 'file',
    fileFormat: 'text',
    icon: pipelineIcon
  });
}

/** Let the user pick step files, starting in `directory`; paths relative to the root. */
async function pickStepFiles(
  app: JupyterFrontEnd,
  docManager: IDocumentManager,
  trans: TranslationBundle,
  directory: string
): Promise<string[]> {
  const result = await FileDialog.getOpenFiles({
    manager: docManager,
    defaultPath: directory,
    title: trans.__('Add steps from files'),
    filter: model =>
      model.type === 'directory' || STEP_FILE.test(model.path) ? {} : null
  });
  return (result.value ?? [])
    .filter(model => model.type !== 'directory')
    .map(model => app.serviceManager.contents.localPath(model.path));
}

/** Files created, saved, renamed, moved or deleted in JupyterLab reach the open pipelines
 * whose steps use them. */
function followFileChanges(
  app: JupyterFrontEnd,
  tracker: IPipelineTracker
): void {
  const contents = app.serviceManager.contents;
  contents.fileChanged.connect((_, change) => {
    const from = change.oldValue?.path;
    const to = change.newValue?.path;
    if (change.type === 'rename' && from && to) {
      tracker.forEach(widget =>
        widget.controller.fileRenamed(
          contents.localPath(from),
          contents.localPath(to)
        )
      );
    }
    // What a step uses appeared, changed or went away: its issues are current at once.
    const touched = change.type === 'delete' ? [from] : [from, to];
    for (const path of touched) {
      if (path) {
        tracker.forEach(widget =>
          widget.controller.fileChanged(contents.localPath(path))
        );
      }
    }
  });
}

export const documentPlugin: JupyterFrontEndPlugin<IPipelineTracker> = {
  id: 'orchest-ext:pipeline-document',
  description: 'Open .orchest and Elyra .pipeline files as pipeline views.',
  autoStart: true,
  provides: IPipelineTracker,
  requires: [
    IOrchestService,
    IOrchestSettings,
    IRenderMimeRegistry,
    IDocumentManager
  ],
  optional: [ILayoutRestorer, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    service: IOrchestService,
    settings: IOrchestSettings,
    rendermime: IRenderMimeRegistry,
    docManager: IDocumentManager,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null
  ): IPipelineTracker => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const { api, events } = service;
    addFileTypes(app, trans);
    const factory = new PipelineWidgetFactory(
      {
        name: FACTORY,
        label: trans.__('Pipeline'),
        fileTypes: [FILE_TYPES.orchest, FILE_TYPES.elyra],
        defaultFor: [FILE_TYPES.orchest, FILE_TYPES.elyra],
        modelName: 'text'
      },
      {
        api,
        events,
        trans,
        preferences: () => settings.preferences,
        actions: pipelinePath =>
          stepActions(app, api, rendermime, trans, pipelinePath),
        localPath: path => app.serviceManager.contents.localPath(path),
        settleStepFiles: (pipelinePath, filePaths) =>
          settlePipelineStepFiles(docManager, trans, pipelinePath, filePaths),
        pickFiles: directory =>
          pickStepFiles(app, docManager, trans, directory),
        offerOrchestCopy: (reason, graph, pipelinePath) =>
          offerOrchestCopy(app, trans, reason, graph, pipelinePath)
      }
    );
    app.docRegistry.addWidgetFactory(factory);

    const tracker = new WidgetTracker<PipelineDocument>({
      namespace: 'orchest-pipeline'
    });
    factory.widgetCreated.connect((_, widget) => {
      widget.context.pathChanged.connect(() => void tracker.save(widget));
      void tracker.add(widget);
    });
    followFileChanges(app, tracker);
    void restorer?.restore(tracker, {
      command: 'docmanager:open',
      args: widget => ({ path: widget.context.path, factory: FACTORY }),
      name: widget => widget.context.path
    });
    return tracker;
  }
};
