/** Pipeline files from the outside: New Pipeline (launcher, palette, file browser) and
 * Run / Abort from the file browser's context menu. */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

import { pipelineIcon } from '../icons';
import { newPipelineText } from '../model/document';
import { parsePipeline } from '../model/pipeline';
import { openPipeline } from '../openers';
import {
  CATEGORY,
  FILE_TYPES,
  IOrchestService,
  TRANSLATION_DOMAIN
} from '../tokens';
import { settlePipelineStepFiles } from '../unsavedFiles';
import { selectedPipelineFile } from './fileBrowser';

export const FILE_COMMANDS = {
  newPipeline: 'orchest:new-pipeline',
  runFile: 'orchest:run-file',
  abortFile: 'orchest:abort-file'
};

function addNewPipeline(
  app: JupyterFrontEnd,
  trans: TranslationBundle,
  fileBrowser: IDefaultFileBrowser | null
): void {
  app.commands.addCommand(FILE_COMMANDS.newPipeline, {
    label: args =>
      args.isLauncher ? trans.__('Pipeline') : trans.__('New Pipeline'),
    caption: trans.__('Create an empty pipeline (*.orchest) and open it'),
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
      openPipeline(app, model.path);
    }
  });
}

/** The step files of the pipeline file at `path` as saved (none when it cannot be read or
 * parsed: the server then says why it cannot run). */
async function savedStepFiles(
  app: JupyterFrontEnd,
  path: string
): Promise<string[]> {
  try {
    const model = await app.serviceManager.contents.get(path, {
      type: 'file',
      format: 'text',
      content: true
    });
    const graph = parsePipeline(String(model.content), path);
    return graph.steps.map(step => step.filePath);
  } catch {
    return [];
  }
}

function addRunAndAbort(
  app: JupyterFrontEnd,
  service: IOrchestService,
  docManager: IDocumentManager,
  trans: TranslationBundle,
  fileBrowser: IDefaultFileBrowser | null
): void {
  const selected = () => selectedPipelineFile(fileBrowser);
  const localPath = (path: string) =>
    app.serviceManager.contents.localPath(path);
  app.commands.addCommand(FILE_COMMANDS.runFile, {
    label: trans.__('Run Pipeline'),
    caption: trans.__('Run every step of this pipeline and open it to watch'),
    icon: pipelineIcon,
    isVisible: () => selected() !== null,
    execute: async () => {
      const file = selected();
      if (!file) {
        return;
      }
      // the same question as a run from the pipeline view: unsaved step files
      const filePaths = await savedStepFiles(app, file);
      if (
        !(await settlePipelineStepFiles(docManager, trans, file, filePaths))
      ) {
        return;
      }
      try {
        await service.api.startRun({
          pipeline_path: localPath(file),
          run_type: 'full'
        });
      } catch (err) {
        await showErrorMessage(
          trans.__('Cannot run the pipeline'),
          (err as Error).message
        );
        return;
      }
      openPipeline(app, file);
    }
  });
  app.commands.addCommand(FILE_COMMANDS.abortFile, {
    label: trans.__('Abort Pipeline Run'),
    caption: trans.__("Abort this pipeline's newest run"),
    isVisible: () => selected() !== null,
    execute: async () => {
      const file = selected();
      if (!file) {
        return;
      }
      try {
        const { runs } = await service.api.listRuns(localPath(file), 1);
        if (runs[0]) {
          await service.api.abortRun(runs[0].id);
        }
      } catch (err) {
        await showErrorMessage(
          trans.__('Cannot abort the run'),
          (err as Error).message
        );
      }
    }
  });
}

export const fileCommandsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'orchest-ext:file-commands',
  description:
    'New Pipeline, and Run / Abort a pipeline from the file browser.',
  autoStart: true,
  requires: [IOrchestService, IDocumentManager],
  optional: [IDefaultFileBrowser, ILauncher, ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    service: IOrchestService,
    docManager: IDocumentManager,
    fileBrowser: IDefaultFileBrowser | null,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    addNewPipeline(app, trans, fileBrowser);
    addRunAndAbort(app, service, docManager, trans, fileBrowser);
    for (const fileType of Object.values(FILE_TYPES)) {
      const selector = `.jp-DirListing-item[data-file-type="${fileType}"]`;
      app.contextMenu.addItem({
        command: FILE_COMMANDS.runFile,
        selector,
        rank: 2
      });
      app.contextMenu.addItem({
        command: FILE_COMMANDS.abortFile,
        selector,
        rank: 3
      });
    }
    palette?.addItem({
      command: FILE_COMMANDS.newPipeline,
      category: CATEGORY
    });
    launcher?.add({
      command: FILE_COMMANDS.newPipeline,
      category: 'Other',
      rank: 1,
      args: { isLauncher: true }
    });
    app.contextMenu.addItem({
      command: FILE_COMMANDS.newPipeline,
      selector: '.jp-DirListing-content',
      rank: 53
    });
  }
};
