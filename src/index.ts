/** The orchest_ext JupyterLab extension: the Pipeline document, the Pipelines panel and the
 * run commands (palette, toolbar, file browser context menu). */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  showDialog,
  showErrorMessage,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { FileDialog } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { PathExt } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import * as nbformat from '@jupyterlab/nbformat';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { OrchestApi } from './api';
import { StepActions } from './components/StepDetails';
import { COMMANDS } from './components/Toolbar';
import { PipelineController } from './controller';
import { OrchestEvents } from './events';
import { newPipelineText, orchestFromGraph } from './model/document';
import { PipelineGraph } from './model/pipeline';
import { pipelineIcon } from './icons';
import { ExecutedNotebookViewer } from './widgets/NotebookViewer';
import {
  FACTORY,
  PipelineDocument,
  PipelineWidgetFactory
} from './widgets/PipelineDocument';
import { PipelinesPanel } from './widgets/PipelinesPanel';
import { JobsPanel } from './widgets/JobsPanel';

const FILE_TYPES = {
  orchest: 'orchest-pipeline',
  elyra: 'orchest-elyra-pipeline'
};
const EXTRA_COMMANDS = {
  newPipeline: 'orchest:new-pipeline',
  runFile: 'orchest:run-file',
  abortFile: 'orchest:abort-file',
  openPanel: 'orchest:open-pipelines-panel',
  createJob: 'orchest:create-job-of-pipeline',
  openJobs: 'orchest:open-jobs-panel'
};
const CATEGORY = 'Pipelines';
const STEP_FILE = /\.(ipynb|py|sh|r)$/i;

/** A name in `directory` that no file has yet: `<stem>.orchest`, `<stem>-1.orchest`, ... */
async function freeName(
  app: JupyterFrontEnd,
  directory: string,
  stem: string,
  extension = '.orchest'
): Promise<string> {
  for (let i = 0; ; i++) {
    const path = PathExt.join(
      directory,
      `${stem}${i ? `-${i}` : ''}${extension}`
    );
    try {
      await app.serviceManager.contents.get(path, { content: false });
    } catch {
      return path;
    }
  }
}

/** Explain why a change needs Orchest's format and offer a `.orchest` copy to edit. */
async function offerOrchestCopy(
  app: JupyterFrontEnd,
  reason: string,
  graph: PipelineGraph,
  pipelinePath: string,
  open: (path: string) => void
): Promise<void> {
  const result = await showDialog({
    title: 'This change needs the Orchest format',
    body: `${reason} The Elyra file is left as it is. Save a copy of the pipeline as .orchest and edit that?`,
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: 'Save as .orchest' })
    ]
  });
  if (!result.button.accept) {
    return;
  }
  const stem = PathExt.basename(pipelinePath, PathExt.extname(pipelinePath));
  const path = await freeName(app, PathExt.dirname(pipelinePath), stem);
  await app.serviceManager.contents.save(path, {
    type: 'file',
    format: 'text',
    content: JSON.stringify(orchestFromGraph(graph), null, 2) + '\n'
  });
  open(path);
}

function stepActions(
  app: JupyterFrontEnd,
  api: OrchestApi,
  rendermime: IRenderMimeRegistry,
  pipelinePath: () => string
): StepActions {
  const directory = () => PathExt.dirname(pipelinePath());
  return {
    async openSource(filePath: string) {
      await app.commands.execute('docmanager:open', {
        path: PathExt.join(directory(), filePath)
      });
    },
    async openExecutedNotebook(
      runId: string,
      stepUuid: string,
      asCopy: boolean
    ) {
      try {
        const notebook = (await api.stepNotebook(
          runId,
          stepUuid
        )) as nbformat.INotebookContent;
        const run = await api.getRun(runId);
        const step = run.steps?.find(s => s.uuid === stepUuid);
        const title = step?.title ?? stepUuid;
        if (asCopy) {
          const stem = title.replace(/[^\w.-]+/g, '_').slice(0, 80);
          const path = await freeName(
            app,
            directory(),
            `${stem}.run-${runId.slice(0, 8)}`,
            '.ipynb'
          );
          await app.serviceManager.contents.save(path, {
            type: 'notebook',
            format: 'json',
            content: notebook
          });
          await app.commands.execute('docmanager:open', { path });
          return;
        }
        const content = new ExecutedNotebookViewer(notebook, rendermime);
        const widget = new MainAreaWidget({ content });
        widget.id = `orchest-executed-${runId}-${stepUuid}`;
        widget.title.label = `${title} (run ${runId.slice(0, 8)}, read-only)`;
        widget.title.closable = true;
        app.shell.add(widget, 'main', { mode: 'split-right' });
      } catch (err) {
        await showErrorMessage(
          'Cannot open the executed notebook',
          (err as Error).message
        );
      }
    }
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'orchest-ext:plugin',
  description: 'See, run and watch orchest_ext pipelines in JupyterLab.',
  autoStart: true,
  requires: [IRenderMimeRegistry, IDocumentManager],
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    IDefaultFileBrowser,
    ILauncher,
    IMainMenu
  ],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    docManager: IDocumentManager,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    fileBrowser: IDefaultFileBrowser | null,
    launcher: ILauncher | null,
    mainMenu: IMainMenu | null
  ) => {
    const api = new OrchestApi(app.serviceManager.serverSettings);
    const events = new OrchestEvents(app.serviceManager.events.stream);

    app.docRegistry.addFileType({
      name: FILE_TYPES.orchest,
      displayName: 'Orchest pipeline',
      extensions: ['.orchest'],
      mimeTypes: ['application/json'],
      contentType: 'file',
      fileFormat: 'text',
      icon: pipelineIcon
    });
    app.docRegistry.addFileType({
      name: FILE_TYPES.elyra,
      displayName: 'Elyra pipeline',
      extensions: ['.pipeline'],
      mimeTypes: ['application/json'],
      contentType: 'file',
      fileFormat: 'text',
      icon: pipelineIcon
    });

    const openPipeline = (path: string) =>
      void app.commands.execute('docmanager:open', { path, factory: FACTORY });
    const factory = new PipelineWidgetFactory(
      {
        name: FACTORY,
        label: 'Pipeline',
        fileTypes: [FILE_TYPES.orchest, FILE_TYPES.elyra],
        defaultFor: [FILE_TYPES.orchest, FILE_TYPES.elyra],
        modelName: 'text'
      },
      {
        api,
        events,
        actions: pipelinePath =>
          stepActions(app, api, rendermime, pipelinePath),
        localPath: path => app.serviceManager.contents.localPath(path),
        pickFiles: async directory => {
          const result = await FileDialog.getOpenFiles({
            manager: docManager,
            defaultPath: directory,
            title: 'Add steps from files',
            filter: model =>
              model.type === 'directory' || STEP_FILE.test(model.path)
                ? {}
                : null
          });
          return (result.value ?? [])
            .filter(model => model.type !== 'directory')
            .map(model => app.serviceManager.contents.localPath(model.path));
        },
        offerOrchestCopy: (reason, graph, pipelinePath) =>
          offerOrchestCopy(app, reason, graph, pipelinePath, openPipeline)
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
    if (restorer) {
      void restorer.restore(tracker, {
        command: 'docmanager:open',
        args: widget => ({ path: widget.context.path, factory: FACTORY }),
        name: widget => widget.context.path
      });
    }

    const panel = new PipelinesPanel(
      api,
      events,
      app.serviceManager.contents,
      openPipeline
    );
    app.shell.add(panel, 'left', { rank: 210 });
    if (restorer) {
      restorer.add(panel, 'orchest-pipelines');
    }

    /** The pipeline in the main area's current tab (none when another document is). */
    const current = (): PipelineController | null => {
      const widget = app.shell.currentWidget;
      return widget instanceof PipelineDocument && tracker.has(widget)
        ? widget.controller
        : null;
    };
    const hasSelection = () => (current()?.state.selected.length ?? 0) > 0;

    const viewCommands: Array<
      [string, string, (c: PipelineController) => Promise<void>, () => boolean]
    > = [
      [
        COMMANDS.runAll,
        'Run All Steps',
        c => c.runAll(),
        () => current() !== null
      ],
      [
        COMMANDS.runChanged,
        'Run Changed Steps (Reuse Unchanged Results)',
        c => c.runChanged(),
        () => current() !== null
      ],
      [
        COMMANDS.runSelected,
        'Run Selected Steps',
        c => c.runSelected(),
        hasSelection
      ],
      [
        COMMANDS.runIncoming,
        'Run Ancestors of Selection',
        c => c.runIncoming(),
        hasSelection
      ],
      [
        COMMANDS.runDescendants,
        'Run Selection and Descendants',
        c => c.runDescendants(),
        hasSelection
      ],
      [
        COMMANDS.abort,
        'Abort the Shown Run',
        c => c.abort(),
        () => current()?.canAbort ?? false
      ],
      [
        COMMANDS.addStep,
        'Add Steps from Files',
        c => c.addStepFromPicker(),
        () => current() !== null
      ],
      [
        COMMANDS.undo,
        'Undo Pipeline Edit',
        async c => c.undo(),
        () => current()?.state.canUndo ?? false
      ],
      [
        COMMANDS.redo,
        'Redo Pipeline Edit',
        async c => c.redo(),
        () => current()?.state.canRedo ?? false
      ]
    ];
    for (const [id, label, action, enabled] of viewCommands) {
      app.commands.addCommand(id, {
        label,
        caption: `${label} of the current pipeline`,
        icon: pipelineIcon,
        isEnabled: enabled,
        execute: async () => {
          const controller = current();
          if (controller) {
            await action(controller);
          }
        }
      });
      palette?.addItem({ command: id, category: CATEGORY });
    }

    const selectedPipelineFile = (): string | null => {
      const item = fileBrowser?.selectedItems().next();
      return item && !item.done && /\.(orchest|pipeline)$/.test(item.value.path)
        ? item.value.path
        : null;
    };
    app.commands.addCommand(EXTRA_COMMANDS.runFile, {
      label: 'Run Pipeline',
      caption: 'Run every step of this pipeline and open it to watch',
      icon: pipelineIcon,
      isVisible: () => selectedPipelineFile() !== null,
      execute: async () => {
        const file = selectedPipelineFile();
        if (!file) {
          return;
        }
        try {
          await api.startRun({
            pipeline_path: app.serviceManager.contents.localPath(file),
            run_type: 'full'
          });
        } catch (err) {
          await showErrorMessage(
            'Cannot run the pipeline',
            (err as Error).message
          );
          return;
        }
        openPipeline(file);
      }
    });
    app.commands.addCommand(EXTRA_COMMANDS.abortFile, {
      label: 'Abort Pipeline Run',
      caption: "Abort this pipeline's newest run",
      isVisible: () => selectedPipelineFile() !== null,
      execute: async () => {
        const file = selectedPipelineFile();
        if (!file) {
          return;
        }
        try {
          const { runs } = await api.listRuns(
            app.serviceManager.contents.localPath(file),
            1
          );
          if (runs[0]) {
            await api.abortRun(runs[0].id);
          }
        } catch (err) {
          await showErrorMessage(
            'Cannot abort the run',
            (err as Error).message
          );
        }
      }
    });
    for (const fileType of Object.values(FILE_TYPES)) {
      app.contextMenu.addItem({
        command: EXTRA_COMMANDS.runFile,
        selector: `.jp-DirListing-item[data-file-type="${fileType}"]`,
        rank: 2
      });
      app.contextMenu.addItem({
        command: EXTRA_COMMANDS.abortFile,
        selector: `.jp-DirListing-item[data-file-type="${fileType}"]`,
        rank: 3
      });
    }

    // Edit → Undo / Redo (and their Ctrl+Z / Ctrl+Shift+Z) act on the current pipeline.
    mainMenu?.editMenu.undoers.undo.add({
      id: COMMANDS.undo,
      isEnabled: widget => tracker.has(widget)
    });
    mainMenu?.editMenu.undoers.redo.add({
      id: COMMANDS.redo,
      isEnabled: widget => tracker.has(widget)
    });

    app.commands.addCommand(EXTRA_COMMANDS.newPipeline, {
      label: args => (args.isLauncher ? 'Pipeline' : 'New Pipeline'),
      caption: 'Create an empty pipeline (*.orchest) and open it',
      icon: pipelineIcon,
      execute: async args => {
        const directory =
          typeof args.cwd === 'string'
            ? args.cwd
            : (fileBrowser?.model.path ?? '');
        const model = await app.serviceManager.contents.newUntitled({
          path: directory,
          type: 'file',
          ext: '.orchest'
        });
        const name = PathExt.basename(model.path, '.orchest');
        await app.serviceManager.contents.save(model.path, {
          type: 'file',
          format: 'text',
          content: newPipelineText(name)
        });
        openPipeline(model.path);
      }
    });
    palette?.addItem({
      command: EXTRA_COMMANDS.newPipeline,
      category: CATEGORY
    });
    launcher?.add({
      command: EXTRA_COMMANDS.newPipeline,
      category: 'Other',
      rank: 1,
      args: { isLauncher: true }
    });
    app.contextMenu.addItem({
      command: EXTRA_COMMANDS.newPipeline,
      selector: '.jp-DirListing-content',
      rank: 53
    });

    app.commands.addCommand(EXTRA_COMMANDS.openPanel, {
      label: 'Show Pipelines Panel',
      execute: () => {
        app.shell.activateById(panel.id);
        void panel.refresh();
      }
    });
    palette?.addItem({ command: EXTRA_COMMANDS.openPanel, category: CATEGORY });

    // Jobs: a panel, and "Create Job" for the current pipeline or a selected file.
    const jobPipeline = (): string | null => {
      const widget = app.shell.currentWidget;
      if (widget instanceof PipelineDocument && tracker.has(widget)) {
        return app.serviceManager.contents.localPath(widget.context.path);
      }
      const file = selectedPipelineFile();
      return file ? app.serviceManager.contents.localPath(file) : null;
    };
    const jobsPanel = new JobsPanel({
      api,
      events: app.serviceManager.events.stream,
      currentPipeline: () =>
        tracker.currentWidget
          ? app.serviceManager.contents.localPath(
              tracker.currentWidget.context.path
            )
          : null,
      openNotebook: (runId, stepUuid) =>
        stepActions(app, api, rendermime, () => '').openExecutedNotebook(
          runId,
          stepUuid,
          false
        ),
      addToMain: widget =>
        app.shell.add(widget, 'main', { mode: 'split-right' })
    });
    app.shell.add(jobsPanel, 'left', { rank: 211 });
    restorer?.add(jobsPanel, 'orchest-jobs');
    app.commands.addCommand(EXTRA_COMMANDS.createJob, {
      label: 'Create Job of Pipeline…',
      caption: 'Run this pipeline on a schedule or over a parameter grid',
      icon: pipelineIcon,
      isEnabled: () => jobPipeline() !== null,
      execute: async () => {
        const path = jobPipeline();
        app.shell.activateById(jobsPanel.id);
        await jobsPanel.create(path);
      }
    });
    palette?.addItem({ command: EXTRA_COMMANDS.createJob, category: CATEGORY });
    for (const fileType of Object.values(FILE_TYPES)) {
      app.contextMenu.addItem({
        command: EXTRA_COMMANDS.createJob,
        selector: `.jp-DirListing-item[data-file-type="${fileType}"]`,
        rank: 4
      });
    }
    app.commands.addCommand(EXTRA_COMMANDS.openJobs, {
      label: 'Show Jobs Panel',
      execute: () => {
        app.shell.activateById(jobsPanel.id);
        void jobsPanel.refresh();
      }
    });
    palette?.addItem({ command: EXTRA_COMMANDS.openJobs, category: CATEGORY });
  }
};

export default plugin;
