/** Edits of one pipeline file's JSON: each edit, undo and redo, files added or followed. */
import {
  EditablePipeline,
  FormatLimitError,
  PipelinePatch,
  StepPatch
} from '../model/document';
import { EditHistory } from '../model/history';
import {
  Area,
  Layout,
  layeredLayout,
  NODE_HEIGHT,
  placeNewSteps
} from '../model/layout';
import { dirname, relativePath, renamedStepFiles } from '../model/paths';
import { PipelineGraph, Position, stepKind } from '../model/pipeline';
import { ViewStore } from './viewStore';

/**
 * Performance marks (bench/ reads them): the pointer is released over the graph (the
 * user's action that ends a drag), an edit starts, the graph it changed is drawn.
 */
export const POINTERUP_MARK = 'orchest-pointerup';
export const EDIT_MARK = 'orchest-edit';
export const DRAWN_MARK = 'orchest-drawn';

/** What the drawn graph tells the controller: the visible area and where steps are drawn. */
export interface CanvasView {
  visibleArea(): Area;
  layout(): Layout;
  /** Fit the view to the graph once the graph drawn next is in place. */
  fitNext(): void;
}

/** The visible area assumed before the graph is drawn. */
const DEFAULT_AREA: Area = { x: 0, y: 0, width: 800, height: 600 };

/** What the editor needs from its document. */
export interface EditorHost {
  /** The file's path relative to the server's root dir. */
  path(): string;
  /** Whether the document has unsaved changes. */
  isDirty(): boolean;
  /** Replace the document's text; `unsaved`: it differs from the file (JupyterLab's
   * save writes it). */
  setText(text: string, unsaved: boolean): void;
  /** Tell the user a change needs Orchest's format and offer a copy as `.orchest`. */
  offerOrchestCopy(reason: string, graph: PipelineGraph): Promise<void>;
  /** Let the user pick files to add as steps, starting in `directory` (relative to the root). */
  pickFiles(directory: string): Promise<string[]>;
}

export class PipelineEditor {
  constructor(
    private readonly store: ViewStore,
    private readonly host: EditorHost,
    /** Show a text this editor made (parse it and draw it). */
    private readonly show: (text: string, doc: EditablePipeline | null) => void,
    /** The drawn canvas, once there is one. */
    private readonly canvas: () => CanvasView | null
  ) {}

  /** The text shown now. */
  get text(): string {
    return this._text;
  }

  get canUndo(): boolean {
    return this.history.canUndo;
  }

  get canRedo(): boolean {
    return this.history.canRedo;
  }

  /** The view shows `text` (with its parsed `doc` when an edit made it). Text from
   * elsewhere (opened, reverted, changed on disk) starts a new undo history. */
  received(text: string, doc: EditablePipeline | null): void {
    if (!this._applying) {
      this.history.clear();
      if (!this.host.isDirty()) {
        this.history.markSaved(text);
      }
    }
    this._text = text;
    this._doc = doc;
  }

  /** The document was saved (or reverted): `text` is what the file holds. */
  markSaved(text: string): void {
    this.history.markSaved(text);
  }

  /** Apply one edit to the file's JSON; refused edits say why and change nothing. */
  edit(
    change: (doc: EditablePipeline, graph: PipelineGraph) => EditablePipeline
  ): boolean {
    const graph = this.store.state.graph;
    if (!graph) {
      return false;
    }
    performance.clearMarks(EDIT_MARK);
    performance.mark(EDIT_MARK);
    let next: EditablePipeline;
    try {
      const doc =
        this._doc ?? EditablePipeline.fromText(this._text, graph.format);
      next = change(doc, graph);
      if (next === doc) {
        performance.clearMarks(EDIT_MARK);
        return false;
      }
    } catch (err) {
      performance.clearMarks(EDIT_MARK);
      if (err instanceof FormatLimitError) {
        void this.host.offerOrchestCopy(err.message, graph);
      } else {
        this.store.update({ error: (err as Error).message });
      }
      return false;
    }
    this.history.record(this._text);
    this.apply(next.toText(), next);
    return true;
  }

  undo(): void {
    const previous = this.history.undo(this._text);
    if (previous !== undefined) {
      this.apply(previous);
    }
  }

  redo(): void {
    const next = this.history.redo(this._text);
    if (next !== undefined) {
      this.apply(next);
    }
  }

  /** Files (root-relative) as new steps: at `at` (canvas coordinates) or in view. */
  addFiles(paths: string[], at: Position | null = null): void {
    const directory = dirname(this.host.path());
    const usable = paths.filter(p => stepKind(p) !== 'unknown');
    if (usable.length < paths.length) {
      this.store.update({
        error: this.store.trans.__(
          'Only notebooks (.ipynb), .py, .sh and .R files can be steps.'
        )
      });
    }
    if (!usable.length) {
      return;
    }
    const layout = this.canvas()?.layout();
    const spots = at
      ? usable.map((_, i) => ({ x: at.x, y: at.y + i * (NODE_HEIGHT + 24) }))
      : placeNewSteps(
          this.canvas()?.visibleArea() ?? DEFAULT_AREA,
          [...(layout?.positions.values() ?? [])],
          usable.length
        );
    this.edit(doc => {
      // Steps drawn where the automatic layout put them stay there.
      let next = layout?.automatic ? doc.move(layout.positions) : doc;
      usable.forEach((path, index) => {
        next = next.addStep(relativePath(directory, path), spots[index])[0];
      });
      return next;
    });
  }

  async addStepFromPicker(): Promise<void> {
    const paths = await this.host.pickFiles(dirname(this.host.path()));
    this.addFiles(paths);
  }

  connect(source: string, target: string): void {
    this.edit((doc, graph) => doc.connect(source, target, graph));
  }

  deleteElements(steps: string[], connections: Array<[string, string]>): void {
    this.edit(doc => {
      let next = doc;
      for (const [source, target] of connections) {
        next = next.disconnect(source, target);
      }
      return steps.length ? next.removeSteps(steps) : next;
    });
    if (steps.includes(this.store.state.inspected ?? '')) {
      this.store.update({ inspected: null });
    }
  }

  /** A file or directory was renamed or moved (root-relative paths): the steps that use
   * it follow, as an unsaved edit. */
  fileRenamed(from: string, to: string): void {
    const graph = this.store.state.graph;
    const moved = graph
      ? renamedStepFiles(graph.steps, this.host.path(), from, to)
      : [];
    if (moved.length) {
      this.edit(doc =>
        moved.reduce(
          (next, [uuid, filePath]) =>
            next.updateStep(uuid, { file_path: filePath }),
          doc
        )
      );
    }
  }

  move(positions: Map<string, Position>): boolean {
    return this.edit(doc => doc.move(positions));
  }

  /** Lay the whole graph out again, parents left of children (undoable like any edit). */
  tidyUp(): void {
    const graph = this.store.state.graph;
    if (graph && this.move(layeredLayout(graph.steps))) {
      this.canvas()?.fitNext();
    }
  }

  updateStep(uuid: string, patch: StepPatch): boolean {
    return this.edit(doc => doc.updateStep(uuid, patch));
  }

  updatePipeline(patch: PipelinePatch): boolean {
    return this.edit(doc => doc.updatePipeline(patch));
  }

  private apply(text: string, doc: EditablePipeline | null = null): void {
    this._applying = true;
    try {
      this.host.setText(text, !this.history.isSaved(text));
      this.show(text, doc);
    } finally {
      this._applying = false;
    }
  }

  private _text = '';
  /** The parsed JSON of `_text` when an edit made it (saves parsing it again). */
  private _doc: EditablePipeline | null = null;
  private readonly history = new EditHistory();
  private _applying = false;
}
