/** `orchest:compare-runs`: two runs side by side in a tab, and `orchest:diff-run-notebooks`:
 * nbdime's diff of a notebook step's executed notebooks in two runs. */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { pipelineIcon } from '../icons';
import {
  COMPARE_RUNS_COMMAND,
  DIFF_RUN_NOTEBOOKS_COMMAND,
  OPEN_RUN_COMMAND
} from '../openers';
import { IOrchestService, TRANSLATION_DOMAIN } from '../tokens';
import { CompareView, compareWidget } from '../widgets/CompareView';
import { notebookDiffPanel } from '../widgets/NotebookDiff';

/** The two distinct run ids of a command's `runIds`, or an error naming what is wrong. */
function runIdsOf(
  args: ReadonlyPartialJSONObject,
  command: string,
  trans: TranslationBundle
): [string, string] {
  const ids = args.runIds;
  if (
    !Array.isArray(ids) ||
    ids.length !== 2 ||
    !ids.every(id => typeof id === 'string' && id) ||
    ids[0] === ids[1]
  ) {
    throw new Error(
      trans.__('%1 needs {"runIds": [a, b]}: two different run ids', command)
    );
  }
  return [ids[0] as string, ids[1] as string];
}

/** Bring the main-area widget `id` to the front; false when there is none. */
function activate(app: JupyterFrontEnd, id: string): boolean {
  const open = Array.from(app.shell.widgets('main')).find(w => w.id === id);
  if (open) {
    app.shell.activateById(id);
  }
  return open !== undefined;
}

export const compareRunsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'orchest-ext:compare-runs',
  description:
    'Two runs side by side (orchest:compare-runs) and their notebook diffs (nbdime).',
  autoStart: true,
  requires: [IOrchestService, IRenderMimeRegistry, IEditorServices],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    service: IOrchestService,
    rendermime: IRenderMimeRegistry,
    editorServices: IEditorServices,
    translator: ITranslator | null
  ) => {
    const translation = translator ?? nullTranslator;
    const trans = translation.load(TRANSLATION_DOMAIN);
    const { api } = service;

    app.commands.addCommand(COMPARE_RUNS_COMMAND, {
      label: trans.__('Compare Two Runs'),
      caption: trans.__(
        'Two runs side by side: pipeline differences, statuses, durations, metrics'
      ),
      icon: pipelineIcon,
      execute: async args => {
        const runIds = runIdsOf(args, COMPARE_RUNS_COMMAND, trans);
        if (activate(app, `orchest-compare-${runIds.join('-')}`)) {
          return;
        }
        const content = new CompareView(
          api,
          runIds,
          {
            openRun: runId =>
              void app.commands.execute(OPEN_RUN_COMMAND, { runId }),
            diffNotebooks: step =>
              void app.commands.execute(DIFF_RUN_NOTEBOOKS_COMMAND, {
                runIds,
                stepUuid: step.uuid,
                title: step.title
              })
          },
          trans,
          service.events
        );
        const widget = compareWidget(content, trans);
        app.shell.add(widget, 'main', { mode: 'tab-after' });
        app.shell.activateById(widget.id);
        await content.load();
      }
    });

    app.commands.addCommand(DIFF_RUN_NOTEBOOKS_COMMAND, {
      label: trans.__('Diff Executed Notebooks of Two Runs'),
      caption: trans.__(
        "nbdime's diff of a notebook step's executed notebooks"
      ),
      execute: async args => {
        const runIds = runIdsOf(args, DIFF_RUN_NOTEBOOKS_COMMAND, trans);
        const stepUuid = typeof args.stepUuid === 'string' ? args.stepUuid : '';
        const title = typeof args.title === 'string' ? args.title : stepUuid;
        const id = `orchest-nbdiff-${runIds.join('-')}-${stepUuid}`;
        if (activate(app, id)) {
          return;
        }
        try {
          const { base, diff } = await api.compareNotebooks(
            ...runIds,
            stepUuid
          );
          const content = await notebookDiffPanel(
            base,
            diff,
            rendermime,
            editorServices,
            translation
          );
          const widget = new MainAreaWidget({ content });
          widget.id = id;
          widget.title.label = trans.__(
            '%1: %2 → %3',
            title,
            runIds[0].slice(0, 8),
            runIds[1].slice(0, 8)
          );
          widget.title.closable = true;
          app.shell.add(widget, 'main', { mode: 'tab-after' });
          app.shell.activateById(id);
        } catch (err) {
          await showErrorMessage(
            trans.__('Cannot diff the executed notebooks'),
            (err as Error).message
          );
        }
      }
    });
  }
};
