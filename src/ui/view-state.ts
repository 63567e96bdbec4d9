/**
 * Everything the screen shows besides the VMs: selection, order, filter, focus, open panes and
 * dialogs, the status message. One reducer, so the attach hand-over can keep it while Ink steps aside
 * and come back to the same view.
 */
import type { FormDraft } from './form-state.js';
import { editLine, type EditKey } from './line-edit.js';
import type { Sort, SortKey } from './vm-view.js';

/** Which pane gets the keys when no dialog is open. */
export type Focus = 'table' | 'filter' | 'console' | 'log' | 'command';

/** A modal dialog over the screen. */
export type Dialog =
  | { type: 'help' }
  | { type: 'create'; draft?: FormDraft | null }
  | { type: 'edit'; name: string }
  | { type: 'confirm-delete'; name: string; force: boolean }
  | { type: 'confirm-kill'; name: string }
  | { type: 'demo' }
  | { type: 'snapshots'; name: string }
  /** One confirmation for an action on several VMs (or one that asks first): who, and who is skipped and why. */
  | { type: 'confirm-bulk'; action: string; names: string[]; skipped: { name: string; why: string }[] }
  /** The new name for a clone or a rename. */
  | { type: 'name'; op: 'clone' | 'rename'; name: string; initial: string };

/** A message on the status line. */
export interface Status {
  text: string;
  kind: 'info' | 'error';
  /** Grows with every message, so an identical message still restarts its timer. */
  id: number;
}

/** The view. */
export interface ViewState {
  /** Selected VM by name, so the selection survives updates, sorting and filtering. */
  selected: string | null;
  /** Where the selection was, for when that VM disappears. */
  selIndex: number;
  sort: Sort;
  filter: string;
  /** The one host whose VMs the table shows (`H` cycles), or null for every host. */
  host: string | null;
  focus: Focus;
  /** The console pane: which VM, and whether it fills the screen. */
  console: { name: string; full: boolean } | null;
  /** The serial log view. */
  log: { name: string } | null;
  dialog: Dialog | null;
  status: Status | null;
  /** The first-run demo offer was shown (it is offered once per session). */
  demoOffered: boolean;
  /** Marked VMs (Space), by name: s S K p r z D act on all of them. */
  marks: readonly string[];
  /** The `:` lines run so far, oldest first. */
  commandHistory: readonly string[];
}

/** Everything that changes the view. */
export type ViewAction =
  | { type: 'select'; name: string | null; index: number }
  | { type: 'sort'; key: SortKey }
  | { type: 'filter-start' }
  | { type: 'filter-set'; text: string }
  | { type: 'filter-key'; input: string; key: EditKey }
  | { type: 'filter-done' }
  | { type: 'filter-clear' }
  | { type: 'host-filter'; host: string | null }
  | { type: 'focus'; focus: Focus }
  | { type: 'console-open'; name: string; focus: boolean }
  | { type: 'console-full'; full: boolean }
  | { type: 'console-close' }
  | { type: 'log-open'; name: string }
  | { type: 'log-close' }
  | { type: 'dialog'; dialog: Dialog | null }
  | { type: 'status'; text: string; kind: 'info' | 'error' }
  | { type: 'status-clear'; id: number }
  | { type: 'demo-offered' }
  | { type: 'mark-toggle'; name: string }
  | { type: 'marks-set'; names: readonly string[] }
  | { type: 'command-start' }
  | { type: 'command-end'; line: string | null };

/** The view a fresh TUI opens with. */
export function initialView(): ViewState {
  return {
    selected: null,
    selIndex: 0,
    sort: { key: 'name', desc: false },
    filter: '',
    host: null,
    focus: 'table',
    console: null,
    log: null,
    dialog: null,
    status: null,
    demoOffered: false,
    marks: [],
    commandHistory: [],
  };
}

let statusId = 0;

/** The view after an action. */
export function viewReducer(s: ViewState, a: ViewAction): ViewState {
  switch (a.type) {
    case 'select':
      return s.selected === a.name && s.selIndex === a.index ? s : { ...s, selected: a.name, selIndex: a.index };
    case 'sort':
      // Pressing the key of the current column again flips the direction, as in k9s.
      return { ...s, sort: { key: a.key, desc: s.sort.key === a.key ? !s.sort.desc : false } };
    case 'filter-start':
      return { ...s, focus: 'filter' };
    case 'filter-set':
      return { ...s, filter: a.text };
    case 'filter-key': {
      const next = editLine({ text: s.filter, cursor: s.filter.length }, a.input, a.key);
      return next && next.text !== s.filter ? { ...s, filter: next.text } : s;
    }
    case 'filter-done':
      return { ...s, focus: 'table' };
    case 'filter-clear':
      return { ...s, filter: '', focus: s.focus === 'filter' ? 'table' : s.focus };
    case 'host-filter':
      return s.host === a.host ? s : { ...s, host: a.host };
    case 'focus':
      return { ...s, focus: a.focus };
    case 'console-open':
      return { ...s, console: { name: a.name, full: s.console?.full ?? false }, log: null, focus: a.focus ? 'console' : 'table' };
    case 'console-full':
      return s.console ? { ...s, console: { ...s.console, full: a.full } } : s;
    case 'console-close':
      return { ...s, console: null, focus: s.focus === 'console' ? 'table' : s.focus };
    case 'log-open':
      return { ...s, log: { name: a.name }, focus: 'log' };
    case 'log-close':
      return { ...s, log: null, focus: 'table' };
    case 'dialog':
      return { ...s, dialog: a.dialog };
    case 'status':
      return { ...s, status: { text: a.text, kind: a.kind, id: ++statusId } };
    case 'status-clear':
      return s.status?.id === a.id ? { ...s, status: null } : s;
    case 'demo-offered':
      return { ...s, demoOffered: true };
    case 'mark-toggle':
      return { ...s, marks: s.marks.includes(a.name) ? s.marks.filter((n) => n !== a.name) : [...s.marks, a.name] };
    case 'marks-set':
      return { ...s, marks: a.names };
    case 'command-start':
      return { ...s, focus: 'command' };
    case 'command-end': {
      const line = a.line?.trim();
      const history = line && s.commandHistory.at(-1) !== line ? [...s.commandHistory, line].slice(-100) : s.commandHistory;
      return { ...s, focus: s.focus === 'command' ? 'table' : s.focus, commandHistory: history };
    }
  }
}
