/** The orchest_ext JupyterLab extension: small plugins that share services through tokens. */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { commandsPlugin } from './plugins/commands';
import { compareRunsPlugin } from './plugins/compareRuns';
import { documentPlugin } from './plugins/document';
import { exportCommandPlugin } from './plugins/exportCommand';
import { fileCommandsPlugin } from './plugins/fileCommands';
import { jobMatrixPlugin } from './plugins/jobMatrix';
import { jobsPanelPlugin } from './plugins/jobsPanel';
import { notificationsPlugin } from './plugins/notifications';
import { pipelinesPanelPlugin } from './plugins/pipelinesPanel';
import { runViewPlugin } from './plugins/runView';
import { servicePlugin } from './plugins/service';
import { settingsPlugin } from './plugins/settings';

export * from './tokens';

const plugins: JupyterFrontEndPlugin<any>[] = [
  servicePlugin,
  settingsPlugin,
  documentPlugin,
  commandsPlugin,
  fileCommandsPlugin,
  pipelinesPanelPlugin,
  jobsPanelPlugin,
  jobMatrixPlugin,
  runViewPlugin,
  compareRunsPlugin,
  exportCommandPlugin,
  notificationsPlugin
];

export default plugins;
