/** `orchest:open-job-matrix`: a job's runs as one table, a row per parameter combination. */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { OPEN_RUN_COMMAND } from '../openers';
import { IOrchestService, TRANSLATION_DOMAIN } from '../tokens';
import { jobsIcon } from '../widgets/JobsPanel';
import {
  JobMatrixModel,
  JobMatrixView,
  jobMatrixWidget
} from '../widgets/JobMatrixView';

/** The command that opens a job's matrix (args `{"jobId": "..."}`). */
export const OPEN_JOB_MATRIX_COMMAND = 'orchest:open-job-matrix';

export const jobMatrixPlugin: JupyterFrontEndPlugin<void> = {
  id: 'orchest-ext:job-matrix',
  description:
    "A grid job's results matrix: a row per combination, sortable, as CSV.",
  autoStart: true,
  requires: [IOrchestService],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    service: IOrchestService,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const open = new Map<string, MainAreaWidget<JobMatrixView>>();
    app.commands.addCommand(OPEN_JOB_MATRIX_COMMAND, {
      label: trans.__('Open Job Matrix'),
      caption: trans.__(
        "A job's runs as one table: a row per parameter combination"
      ),
      icon: jobsIcon,
      execute: async args => {
        const jobId = typeof args.jobId === 'string' ? args.jobId : '';
        if (!jobId) {
          throw new Error(
            trans.__('orchest:open-job-matrix needs {"jobId": "..."}')
          );
        }
        const known = open.get(jobId);
        if (known && !known.isDisposed) {
          app.shell.activateById(known.id);
          await known.content.model.refresh();
          return;
        }
        const model = new JobMatrixModel(
          service.api,
          jobId,
          app.serviceManager.events.stream
        );
        const content = new JobMatrixView(
          model,
          runId => void app.commands.execute(OPEN_RUN_COMMAND, { runId }),
          trans
        );
        const widget = jobMatrixWidget(content, trans);
        open.set(jobId, widget);
        widget.disposed.connect(() => open.delete(jobId));
        app.shell.add(widget, 'main', { mode: 'tab-after' });
        app.shell.activateById(widget.id);
        await model.refresh();
      }
    });
  }
};
