import { EditHistory } from '../model/history';

describe('EditHistory', () => {
  it('undoes and redoes whole texts', () => {
    const history = new EditHistory();
    history.record('v1');
    history.record('v2');
    expect(history.undo('v3')).toBe('v2');
    expect(history.undo('v2')).toBe('v1');
    expect(history.undo('v1')).toBeUndefined();
    expect(history.redo('v1')).toBe('v2');
    expect(history.canRedo).toBe(true);
    history.record('v2');
    expect(history.canRedo).toBe(false);
  });

  it('knows when undo is back at the saved text', () => {
    const history = new EditHistory();
    history.markSaved('saved');
    history.record('saved');
    expect(history.isSaved('edited')).toBe(false);
    const back = history.undo('edited') as string;
    expect(history.isSaved(back)).toBe(true);
    expect(history.isSaved(history.redo(back) as string)).toBe(false);
  });

  it('follows a save made after edits', () => {
    const history = new EditHistory();
    history.markSaved('v1');
    history.record('v1');
    history.markSaved('v2');
    expect(history.isSaved(history.undo('v2') as string)).toBe(false);
    expect(history.isSaved(history.redo('v1') as string)).toBe(true);
  });

  it('has nothing saved before a text is marked, and keeps at most its limit', () => {
    const history = new EditHistory(2);
    expect(history.isSaved('')).toBe(false);
    ['a', 'b', 'c'].forEach(text => history.record(text));
    expect(history.undo('d')).toBe('c');
    expect(history.undo('c')).toBe('b');
    expect(history.undo('b')).toBeUndefined();
  });
});
