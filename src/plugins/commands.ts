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

/** Commands only the keyboard reaches (schema/pipeline-commands.json binds them). */
export const KEY_COMMANDS = {
  deleteSelection: 'orchest:delete-selection',
  selectAll: 'orchest:select-all'
};

interface ViewCommand {
  id: string;
  label: string;
  action: (
    controller: PipelineController,
    widget: PipelineDocument
  ) => Promise<void> | void;
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
      id: KEY_COMMANDS.deleteSelection,
      label: __('Delete Selected Steps and Connections'),
      action: (c, widget) => {
        // Focus stays in this view (not on a node that goes away), for Ctrl+Z next.
        widget.content.node.focus({ preventScroll: true });
        c.deleteSelection();
      },
      enabled: always
    },
    {
      id: KEY_COMMANDS.selectAll,
      label: __('Select All Steps'),
      action: c => c.selectAll(),
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
    /** The pipeline that has the focus (a keybinding's), else the main area's current tab
     * (the palette's and the menus'); none when another document is current. */
    const current = (): PipelineDocument | null => {
      const focused = document.activeElement;
      const owner = focused
        ? tracker.find(widget => widget.node.contains(focused))
        : undefined;
      const widget = owner ?? app.shell.currentWidget;
      return widget instanceof PipelineDocument && tracker.has(widget)
        ? widget
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
          const widget = current();
          return widget !== null && enabled(widget.controller);
        },
        execute: async () => {
          const widget = current();
          if (widget) {
            await action(widget.controller, widget);
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
