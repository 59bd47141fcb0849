/** The pipeline view's commands (palette, toolbar buttons, Edit menu), acting on the
 * focused pipeline. */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { COMMANDS } from '../components/Toolbar';
import { PipelineController } from '../controller';
import { pipelineIcon } from '../icons';
import { CATEGORY, IPipelineTracker, TRANSLATION_DOMAIN } from '../tokens';
import { PipelineDocument } from '../widgets/PipelineDocument';

interface ViewCommand {
  id: string;
  label: string;
  action: (controller: PipelineController) => Promise<void> | void;
  enabled: (controller: PipelineController) => boolean;
}

function viewCommands(__: (text: string) => string): ViewCommand[] {
  const always = () => true;
  const hasSelection = (c: PipelineController) => c.state.selected.length > 0;
  return [
    {
      id: COMMANDS.runAll,
      label: __('Run All Steps'),
      action: c => c.runAll(),
      enabled: always
    },
    {
      id: COMMANDS.runChanged,
      label: __('Run Changed Steps (Reuse Unchanged Results)'),
      action: c => c.runChanged(),
      enabled: always
    },
    {
      id: COMMANDS.runSelected,
      label: __('Run Selected Steps'),
      action: c => c.runSelected(),
      enabled: hasSelection
    },
    {
      id: COMMANDS.runIncoming,
      label: __('Run Ancestors of Selection'),
      action: c => c.runIncoming(),
      enabled: hasSelection
    },
    {
      id: COMMANDS.runDescendants,
      label: __('Run Selection and Descendants'),
      action: c => c.runDescendants(),
      enabled: hasSelection
    },
    {
      id: COMMANDS.abort,
      label: __('Abort the Shown Run'),
      action: c => c.abort(),
      enabled: c => c.canAbort
    },
    {
      id: COMMANDS.addStep,
      label: __('Add Steps from Files'),
      action: c => c.addStepFromPicker(),
      enabled: always
    },
    {
      id: COMMANDS.tidyUp,
      label: __('Tidy Up Pipeline Layout'),
      action: c => c.tidyUp(),
      enabled: always
    },
    {
      id: COMMANDS.undo,
      label: __('Undo Pipeline Edit'),
      action: c => c.undo(),
      enabled: c => c.state.canUndo
    },
    {
      id: COMMANDS.redo,
      label: __('Redo Pipeline Edit'),
      action: c => c.redo(),
      enabled: c => c.state.canRedo
    }
  ];
}

export const commandsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'orchest-ext:pipeline-commands',
  description: 'Commands of the focused pipeline view: runs, abort, edits.',
  autoStart: true,
  requires: [IPipelineTracker],
  optional: [ICommandPalette, IMainMenu, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    tracker: IPipelineTracker,
    palette: ICommandPalette | null,
    mainMenu: IMainMenu | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    /** The pipeline in the main area's current tab (none when another document is). */
    const current = (): PipelineController | null => {
      const widget = app.shell.currentWidget;
      return widget instanceof PipelineDocument && tracker.has(widget)
        ? widget.controller
        : null;
    };
    for (const { id, label, action, enabled } of viewCommands(text =>
      trans.__(text)
    )) {
      app.commands.addCommand(id, {
        label,
        caption: trans.__('%1 of the current pipeline', label),
        icon: pipelineIcon,
        isEnabled: () => {
          const controller = current();
          return controller !== null && enabled(controller);
        },
        execute: async () => {
          const controller = current();
          if (controller) {
            await action(controller);
          }
        }
      });
      palette?.addItem({ command: id, category: CATEGORY });
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
  }
};
