/** The orchest_ext server as a service: one REST client and one event subscription. */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { OrchestApi } from '../api';
import { OrchestEvents } from '../events';
import { IOrchestService } from '../tokens';

export const servicePlugin: JupyterFrontEndPlugin<IOrchestService> = {
  id: 'orchest-ext:service',
  description: 'The orchest_ext REST client and its live events.',
  autoStart: true,
  provides: IOrchestService,
  activate: (app: JupyterFrontEnd): IOrchestService => ({
    api: new OrchestApi(app.serviceManager.serverSettings),
    events: new OrchestEvents(app.serviceManager.events.stream)
  })
};
