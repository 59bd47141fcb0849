/** The left-side Pipelines panel and its command. */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { openPipeline } from '../openers';
import { CATEGORY, IOrchestService, TRANSLATION_DOMAIN } from '../tokens';
import { PipelinesPanel } from '../widgets/PipelinesPanel';

const OPEN_PANEL = 'orchest:open-pipelines-panel';

export const pipelinesPanelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'orchest-ext:pipelines-panel',
  description: 'A side panel listing every pipeline file with its last run.',
  autoStart: true,
  requires: [IOrchestService],
  optional: [ILayoutRestorer, ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    service: IOrchestService,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const panel = new PipelinesPanel(
      service.api,
      service.events,
      app.serviceManager.contents,
      path => openPipeline(app, path),
      trans
    );
    app.shell.add(panel, 'left', { rank: 210 });
    restorer?.add(panel, 'orchest-pipelines');
    app.commands.addCommand(OPEN_PANEL, {
      label: trans.__('Show Pipelines Panel'),
      execute: () => {
        app.shell.activateById(panel.id);
        void panel.refresh();
      }
    });
    palette?.addItem({ command: OPEN_PANEL, category: CATEGORY });
  }
};
