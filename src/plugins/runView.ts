/** `orchest:open-run`: a run's own pipeline, as it ran, in a read-only tab (restored on
 * reload). */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

import { RunViewController } from '../controllers/runView';
import { pipelineIcon } from '../icons';
import { PipelineGraph, parsePipeline } from '../model/pipeline';
import { OPEN_RUN_COMMAND, stepActions } from '../openers';
import { IOrchestService, TRANSLATION_DOMAIN } from '../tokens';
import { RunView, runViewWidget } from '../widgets/RunView';

/** Today's graph of a pipeline file's text; null when it is no longer a pipeline. */
function parseToday(text: string, path: string): PipelineGraph | null {
  try {
    return parsePipeline(text, path);
  } catch {
    return null;
  }
}

/** Today's text of a file (root-relative path); null when it is gone or not text. */
async function readFile(
  app: JupyterFrontEnd,
  path: string
): Promise<string | null> {
  try {
    const model = await app.serviceManager.contents.get(path, {
      type: 'file',
      format: 'text',
      content: true
    });
    return typeof model.content === 'string' ? model.content : null;
  } catch {
    return null;
  }
}

/** The read-only view of one run, not loaded yet. */
function runView(
  app: JupyterFrontEnd,
  service: IOrchestService,
  rendermime: IRenderMimeRegistry,
  trans: TranslationBundle,
  runId: string
): RunView {
  const controller = new RunViewController(
    service.api,
    service.events,
    runId,
    path => readFile(app, path),
    parseToday,
    trans
  );
  const actions = stepActions(
    app,
    service.api,
    rendermime,
    trans,
    () => controller.state.path ?? ''
  );
  const content = new RunView(
    controller,
    actions,
    path => void app.commands.execute('docmanager:open', { path }),
    trans
  );
  return content;
}

export const runViewPlugin: JupyterFrontEndPlugin<void> = {
  id: 'orchest-ext:run-view',
  description: "A run's own pipeline as it ran, read-only (orchest:open-run).",
  autoStart: true,
  requires: [IOrchestService, IRenderMimeRegistry],
  optional: [ILayoutRestorer, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    service: IOrchestService,
    rendermime: IRenderMimeRegistry,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const tracker = new WidgetTracker<MainAreaWidget<RunView>>({
      namespace: 'orchest-run'
    });
    const runIdOf = (widget: MainAreaWidget<RunView>) =>
      widget.content.controller.runId;
    app.commands.addCommand(OPEN_RUN_COMMAND, {
      label: trans.__('Open Run as It Ran'),
      caption: trans.__("A run's own pipeline, parameters and statuses"),
      icon: pipelineIcon,
      execute: args => {
        const runId = typeof args.runId === 'string' ? args.runId : '';
        if (!runId) {
          throw new Error(trans.__('orchest:open-run needs {"runId": "..."}'));
        }
        const known = tracker.find(widget => runIdOf(widget) === runId);
        if (known) {
          app.shell.activateById(known.id);
          return;
        }
        const content = runView(app, service, rendermime, trans, runId);
        const widget = runViewWidget(content, trans);
        void tracker.add(widget);
        app.shell.add(widget, 'main', { mode: 'tab-after' });
        app.shell.activateById(widget.id);
        // not awaited: a reload restores the layout without waiting for the API (the tab
        // shows "Loading…", then the run or the error)
        void content.controller.load();
      }
    });
    // A reload opens the same runs again, each from its stored record.
    void restorer?.restore(tracker, {
      command: OPEN_RUN_COMMAND,
      args: widget => ({ runId: runIdOf(widget) }),
      name: runIdOf
    });
  }
};
