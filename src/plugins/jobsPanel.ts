/** The left-side Jobs panel, and "Create Job" for the current pipeline or a selected file. */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { pipelineIcon } from '../icons';
import { stepActions } from '../openers';
import {
  CATEGORY,
  FILE_TYPES,
  IOrchestService,
  IPipelineTracker,
  TRANSLATION_DOMAIN
} from '../tokens';
import { JobsPanel } from '../widgets/JobsPanel';
import { currentOrSelectedPipeline } from './fileBrowser';
import { OPEN_JOB_MATRIX_COMMAND } from './jobMatrix';

const JOB_COMMANDS = {
  createJob: 'orchest:create-job-of-pipeline',
  openJobs: 'orchest:open-jobs-panel'
};

export const jobsPanelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'orchest-ext:jobs-panel',
  description: 'Pipeline jobs: schedules and parameter grids, with their runs.',
  autoStart: true,
  requires: [IOrchestService, IPipelineTracker, IRenderMimeRegistry],
  optional: [
    IDefaultFileBrowser,
    ILayoutRestorer,
    ICommandPalette,
    ITranslator
  ],
  activate: (
    app: JupyterFrontEnd,
    service: IOrchestService,
    tracker: IPipelineTracker,
    rendermime: IRenderMimeRegistry,
    fileBrowser: IDefaultFileBrowser | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const localPath = (path: string) =>
      app.serviceManager.contents.localPath(path);
    const notebooks = stepActions(
      app,
      service.api,
      rendermime,
      trans,
      () => ''
    );
    const panel = new JobsPanel({
      api: service.api,
      events: app.serviceManager.events.stream,
      currentPipeline: () =>
        tracker.currentWidget
          ? localPath(tracker.currentWidget.context.path)
          : null,
      openNotebook: (runId, stepUuid) =>
        notebooks.openExecutedNotebook(runId, stepUuid, false),
      openRun: runId => notebooks.openRun(runId),
      openMatrix: async jobId => {
        await app.commands.execute(OPEN_JOB_MATRIX_COMMAND, { jobId });
      },
      addToMain: widget => app.shell.add(widget, 'main', { mode: 'tab-after' }),
      trans
    });
    app.shell.add(panel, 'left', { rank: 211 });
    restorer?.add(panel, 'orchest-jobs');

    const jobPipeline = () =>
      currentOrSelectedPipeline(app, tracker, fileBrowser);
    app.commands.addCommand(JOB_COMMANDS.createJob, {
      label: trans.__('Create Job of Pipeline…'),
      caption: trans.__(
        'Run this pipeline on a schedule or over a parameter grid'
      ),
      icon: pipelineIcon,
      isEnabled: () => jobPipeline() !== null,
      execute: async () => {
        const path = jobPipeline();
        app.shell.activateById(panel.id);
        await panel.create(path);
      }
    });
    app.commands.addCommand(JOB_COMMANDS.openJobs, {
      label: trans.__('Show Jobs Panel'),
      execute: () => {
        app.shell.activateById(panel.id);
        void panel.refresh();
      }
    });
    for (const command of Object.values(JOB_COMMANDS)) {
      palette?.addItem({ command, category: CATEGORY });
    }
    for (const fileType of Object.values(FILE_TYPES)) {
      app.contextMenu.addItem({
        command: JOB_COMMANDS.createJob,
        selector: `.jp-DirListing-item[data-file-type="${fileType}"]`,
        rank: 4
      });
    }
  }
};
