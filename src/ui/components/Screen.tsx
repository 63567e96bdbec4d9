import { Box, useApp } from 'ink';
import type { AppProps } from '../App.js';
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, type ReactNode } from 'react';
import { BentoError } from '../../vm/errors.js';
import type { Vm } from '../../vm/types.js';
import { patchBody, type FormValues } from '../form-model.js';
import { useCreateVm } from '../hooks/use-create-vm.js';
import { useFilterInput } from '../hooks/use-filter-input.js';
import { useImages } from '../hooks/use-images.js';
import { useLogTail } from '../hooks/use-log-tail.js';
import { useTableKeys } from '../hooks/use-table-keys.js';
import { useTerminalSize } from '../hooks/use-terminal-size.js';
import { useVmActions } from '../hooks/use-vm-actions.js';
import { useSnapshotActions } from '../hooks/use-snapshot-actions.js';
import { useSnapshots } from '../hooks/use-snapshots.js';
import { useVmStore } from '../hooks/use-vm-store.js';
import { COMMAND_HINTS, FILTER_HINTS, LOG_HINTS, ONE_HOST_HINTS, TABLE_HINTS, consoleHints } from '../keys.js';
import { computeLayout, tableRows } from '../layout.js';
import { openPane as realOpenPane } from '../pane-adapter.js';
import { initialView, viewReducer } from '../view-state.js';
import { visiblePulls } from '../pulls.js';
import { runBulk, tableCommands } from '../table-commands.js';
import { useCommandLine } from '../hooks/use-command-line.js';
import { CommandLine } from './CommandLine.js';
import { selectionIndex, visibleVms } from '../vm-view.js';
import type { EscapeKey } from './ConsolePane.js';
import { Header, headerLines } from './Header.js';
import { headerHosts, knownHosts } from '../host-view.js';
import { HintBar } from './HintBar.js';
import { MainBody } from './MainBody.js';
import { Overlays } from './Overlays.js';
import { StatusLine } from './StatusLine.js';

const DEFAULT_ESCAPE: EscapeKey = { byte: 0x1d, label: 'Ctrl-]' };

/** The screen: header, hint bar, VM table, details, console pane, status line, dialogs. */
export function Screen(props: AppProps): ReactNode {
  const { client, store, consoleCommand, guestDir, escape = DEFAULT_ESCAPE, openPane = realOpenPane, arch = process.arch } = props;
  const app = useApp();
  const state = useVmStore(store);
  const session = useRef(props.session ?? { view: initialView() }).current;
  const [view, dispatch] = useReducer(viewReducer, session.view);
  session.view = view;
  const { cols, rows } = useTerminalSize(props.size);
  // Every host known (local first): with more than one, the header gets a line for their states.
  const hostNames = useMemo(() => knownHosts(state.hosts, state.vms.values()), [state.hosts, state.vms]);
  const hostInfos = useMemo(() => (hostNames.length > 1 ? headerHosts(state.hosts, state.vms, new Date().toISOString()) : []), [hostNames, state.hosts, state.vms]);
  const layout = computeLayout(cols, rows, view, headerLines(hostInfos.length) - 1);
  const actions = useVmActions(client, store, dispatch);
  const snapActions = useSnapshotActions(client, store, dispatch);

  const list = useMemo(() => visibleVms(state.vms.values(), view.filter, view.sort, view.host), [state.vms, view.filter, view.sort, view.host]);
  // A host filter on a host that was removed shows every host again.
  useEffect(() => {
    if (view.host !== null && !hostNames.includes(view.host)) dispatch({ type: 'host-filter', host: null });
  }, [view.host, hostNames]);
  const pulls = useMemo(() => visiblePulls(state.pulls, view.filter), [state.pulls, view.filter]);
  const selIndex = selectionIndex(list, view.selected, view.selIndex);
  const selected = selIndex >= 0 ? list[selIndex]! : null;
  // When the selected VM disappears (deleted, filtered out), the neighbour takes over the selection.
  useEffect(() => {
    if (selected && selected.name !== view.selected) dispatch({ type: 'select', name: selected.name, index: selIndex });
  }, [selected, selIndex, view.selected]);

  // Bumps each time bentod comes back, so log streams reopen.
  const [epoch, setEpoch] = useState(0);
  const wasLost = useRef(false);
  useEffect(() => {
    if (state.conn.status === 'lost') wasLost.current = true;
    else if (state.conn.status === 'live' && wasLost.current) {
      wasLost.current = false;
      setEpoch((e) => e + 1);
      dispatch({ type: 'status', text: 'connected to bentod again', kind: 'info' });
    }
  }, [state.conn.status]);

  const snapshots = useSnapshots(client, selected, { isActive: layout.details !== null || view.dialog?.type === 'snapshots' });
  const tail = useLogTail(client, selected?.name ?? null, { isActive: layout.details !== null, maxLines: 200, delayMs: 150, maxFps: 5, epoch });

  useEffect(() => {
    const s = view.status;
    if (!s) return;
    const t = setTimeout(() => dispatch({ type: 'status-clear', id: s.id }), s.kind === 'error' ? 10_000 : 5_000);
    return () => clearTimeout(t);
  }, [view.status]);

  // A VM being edited that disappears (deleted elsewhere) takes its form with it.
  const editing = view.dialog?.type === 'edit' ? view.dialog.name : null;
  useEffect(() => {
    if (editing && !state.vms.has(editing)) dispatch({ type: 'dialog', dialog: null });
  }, [editing, state.vms]);

  useEffect(() => {
    if (state.loaded && state.vms.size === 0 && !view.demoOffered && !view.dialog) {
      dispatch({ type: 'demo-offered' });
      dispatch({ type: 'dialog', dialog: { type: 'demo' } });
    }
  }, [state.loaded, state.vms.size, view.demoOffered, view.dialog]);

  const say = (text: string, kind: 'info' | 'error' = 'info'): void => dispatch({ type: 'status', text, kind });

  // A pull another client started for a new VM failed: that client tells its user, this one tells
  // ours. One that failed before this screen was drawn (before an attach) has been told already.
  const toldPullError = useRef(state.pullError);
  useEffect(() => {
    const e = state.pullError;
    if (!e || e === toldPullError.current) return;
    toldPullError.current = e;
    dispatch({ type: 'status', text: `${e.name}: pulling ${e.ref} failed: ${e.message}`, kind: 'error' });
  }, [state.pullError]);
  // Several keys can arrive in one read ("jjj"): each move starts where the previous one ended.
  const cursor = useRef(selIndex);
  cursor.current = selIndex;
  const select = (i: number): void => {
    if (!list.length) return;
    const idx = Math.min(Math.max(i, 0), list.length - 1);
    cursor.current = idx;
    dispatch({ type: 'select', name: list[idx]!.name, index: idx });
  };
  const cur = (): Vm | null => list[cursor.current] ?? null;
  const quit = props.onQuit ?? (() => app.exit());
  const images = useImages(client, { isActive: view.dialog?.type === 'create' });
  const creator = useCreateVm({ client, store, dispatch, images, arch, selIndex });
  const openCreate = (): void => dispatch({ type: 'dialog', dialog: { type: 'create', draft: creator.takeDraft() } });
  const page = layout.table ? tableRows(layout.table.h) : 10;
  const dialogOpen = view.dialog !== null;

  const tableCtx = {
    view,
    dispatch,
    store,
    list,
    hosts: hostNames,
    cur,
    select,
    cursor: () => cursor.current,
    page,
    actions,
    snapshots: snapActions,
    connLost: state.conn.status === 'lost',
    ...(props.onHandOver ? { onHandOver: props.onHandOver } : {}),
    ...(props.startDaemon ? { startDaemon: props.startDaemon } : {}),
    openCreate,
    quit,
  };
  useTableKeys(tableCommands(tableCtx), { isActive: !dialogOpen && view.focus === 'table' });
  const runLine = useCommandLine({ runCommand: props.runCommand, dispatch, quit });
  useFilterInput({
    isActive: !dialogOpen && view.focus === 'filter',
    onEdit: (input, key) => dispatch({ type: 'filter-key', input, key }),
    onDone: () => dispatch({ type: 'filter-done' }),
    onClear: () => dispatch({ type: 'filter-clear' }),
  });

  const close = useCallback(() => dispatch({ type: 'dialog', dialog: null }), []);
  const edit = async (vm: Vm, values: FormValues): Promise<void> => {
    const body = patchBody(vm, values);
    if (Object.keys(body).length === 0) {
      dispatch({ type: 'dialog', dialog: null });
      return say(`${vm.name}: nothing changed`);
    }
    store.upsert(await client.patch(vm.name, body));
    dispatch({ type: 'dialog', dialog: null });
    say(`saved ${vm.name}`);
  };
  const demo = async (): Promise<void> => {
    let vm: Vm;
    try {
      vm = await client.create({ name: 'demo', kernel: `${guestDir}/vmlinuz`, initrd: `${guestDir}/initrd.img`, cmdline: 'console=ttyS0', memory: '256M' });
    } catch (err) {
      if (!(err instanceof BentoError && err.code === 'already-exists')) throw err;
      vm = await client.get('demo');
    }
    store.upsert(vm);
    dispatch({ type: 'select', name: vm.name, index: 0 });
    if (vm.state === 'stopped') store.upsert(await client.start(vm.name));
    dispatch({ type: 'dialog', dialog: null });
    dispatch({ type: 'console-open', name: vm.name, focus: true });
    say(`demo is booting; type into its console, ${escape.label} goes back to the list`);
  };

  const consoleFocused = view.focus === 'console' && !!view.console;
  const focusHints = { log: LOG_HINTS, filter: FILTER_HINTS, command: COMMAND_HINTS } as const;
  const hints = consoleFocused ? consoleHints(escape.label) : view.focus in focusHints ? focusHints[view.focus as keyof typeof focusHints] : hostNames.length > 1 ? TABLE_HINTS : ONE_HOST_HINTS;
  const hintLabel = consoleFocused ? ` console · ${view.console!.name} ` : view.focus in focusHints ? ` ${view.focus} ` : view.marks.length ? ` ${view.marks.length} marked ` : undefined;
  return (
      <Box flexDirection="column" width={cols} height={rows - 1}>
        <Header conn={state.conn} version={state.version} vms={state.vms} pulls={state.pulls.size} width={cols} hosts={hostInfos} hostFilter={view.host} />
        <HintBar hints={hints} vm={selected} width={cols} label={hintLabel} />
        <MainBody
          layout={layout}
          view={view}
          rows={list}
          pulls={pulls}
          selIndex={selIndex}
          selected={selected}
          total={state.vms.size}
          sort={view.sort}
          loaded={state.loaded}
          vms={state.vms}
          marks={view.marks}
          stats={state.stats}
          hosts={hostNames}
          tail={tail}
          snapshots={snapshots}
          dialogOpen={dialogOpen}
          client={client}
          epoch={epoch}
          escape={escape}
          openPane={openPane}
          consoleCommand={consoleCommand}
          leaveConsole={() => {
            // Back to the table, which a full-screen console covers: the split comes back with it.
            if (view.console?.full) dispatch({ type: 'console-full', full: false });
            dispatch({ type: 'focus', focus: 'table' });
          }}
          closeLog={() => dispatch({ type: 'log-close' })}
        />
        {view.focus === 'command' && !dialogOpen ? (
          <CommandLine width={cols} history={view.commandHistory} isActive onSubmit={runLine} onCancel={() => dispatch({ type: 'command-end', line: null })} />
        ) : (
          <StatusLine status={view.status} width={cols} />
        )}
        <Overlays
          dialog={view.dialog}
          vms={state.vms}
          screen={{ cols, rows }}
          escapeLabel={escape.label}
          guestDir={guestDir}
          close={close}
          create={creator.create}
          images={images}
          arch={arch}
          hosts={hostNames}
          edit={edit}
          kill={actions.kill}
          remove={(name, force) => {
            if (view.console?.name === name) dispatch({ type: 'console-close' });
            actions.remove(name, force);
          }}
          demo={demo}
          openCreate={openCreate}
          snapshots={snapshots}
          restoreSnapshot={snapActions.restore}
          removeSnapshot={snapActions.remove}
          runBulk={(action, names) => runBulk({ store, dispatch, actions, view }, action, names)}
          cloneOrRename={(op, name, to) => actions.cloneOrRename(op, name, to)}
        />
      </Box>
  );
}
