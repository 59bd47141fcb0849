/** Undo and redo of whole pipeline texts, and which text is the saved one. Pure. */

/** Most edits undo remembers. */
const UNDO_LIMIT = 200;

export class EditHistory {
  constructor(private readonly limit = UNDO_LIMIT) {}

  get canUndo(): boolean {
    return this._undo.length > 0;
  }

  get canRedo(): boolean {
    return this._redo.length > 0;
  }

  /** Forget every edit (the text came from outside: opened, reverted, changed on disk). */
  clear(): void {
    this._undo = [];
    this._redo = [];
  }

  /** An edit replaces `before`: it can be undone; what was undone can no longer be redone. */
  record(before: string): void {
    this._undo.push(before);
    if (this._undo.length > this.limit) {
      this._undo.shift();
    }
    this._redo = [];
  }

  /** The text before the last edit (undefined when none), `current` becoming redoable. */
  undo(current: string): string | undefined {
    const previous = this._undo.pop();
    if (previous !== undefined) {
      this._redo.push(current);
    }
    return previous;
  }

  /** The text of the last undone edit (undefined when none). */
  redo(current: string): string | undefined {
    const next = this._redo.pop();
    if (next !== undefined) {
      this._undo.push(current);
    }
    return next;
  }

  /** `text` is what the file holds now (it was opened or saved). */
  markSaved(text: string): void {
    this._saved = text;
  }

  /** Whether `text` is what the file holds (undoing back to it leaves nothing unsaved). */
  isSaved(text: string): boolean {
    return this._saved !== null && text === this._saved;
  }

  private _undo: string[] = [];
  private _redo: string[] = [];
  private _saved: string | null = null;
}
