/**
 * A Mermaid `stateDiagram-v2` generated from a machine definition (walks
 * `machine.root`: states, `transitions`, `always`). docs/device.md embeds the
 * output for `purchaseMachine`; a test checks the committed copy is current.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

function nodeId(node: AnyStateNode): string {
  return node.path.length === 0 ? 'root' : node.path.join('_');
}

function guardLabel(g: unknown): string {
  if (!g) return '';
  if (typeof g === 'string') return g;
  if (typeof g === 'function') {
    const f = g as { name?: string; guards?: unknown[] };
    const parts = (f.guards ?? []).map(guardLabel);
    if (f.name === 'not') return `!${parts[0] ?? '?'}`;
    if (f.name === 'and') return parts.join(' & ');
    if (f.name === 'or') return parts.join(' | ');
    return f.name || 'guard';
  }
  if (typeof g === 'object' && typeof (g as { type?: unknown }).type === 'string') return (g as { type: string }).type;
  return 'guard';
}

/** A readable event name: `after ORDER_WAIT`, `done`, `error`, `always`, or the event type. */
export function eventLabel(eventType: string): string {
  if (eventType === '') return 'always';
  let m = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (m) return `after ${m[1]}`;
  if (/^xstate\.done\.actor\./.test(eventType)) return 'done';
  if (/^xstate\.error\.actor\./.test(eventType)) return 'error';
  m = /^xstate\.done\.state\./.exec(eventType);
  if (m) return 'done';
  return eventType;
}

/** Every transition of a node: `on`, `after`, invoke done/error, then `always`. */
export function ownTransitions(node: AnyStateNode): AnyTransitionDefinition[] {
  const out: AnyTransitionDefinition[] = [];
  for (const list of node.transitions.values()) out.push(...list);
  out.push(...((node.always ?? []) as AnyTransitionDefinition[]));
  return out;
}

/** All state nodes below the root, in document order. */
export function allStateNodes(machine: AnyStateMachine): AnyStateNode[] {
  const out: AnyStateNode[] = [];
  const walk = (n: AnyStateNode) => {
    for (const c of Object.values(n.states) as AnyStateNode[]) {
      out.push(c);
      walk(c);
    }
  };
  walk(machine.root);
  return out;
}

export interface MermaidOptions {
  /** Leave out transitions that change no state (HELP, REPEAT…). Default true. */
  hideSelfActions?: boolean;
}

export function machineToMermaid(machine: AnyStateMachine, options: MermaidOptions = {}): string {
  const hide = options.hideSelfActions ?? true;
  const lines: string[] = ['stateDiagram-v2'];
  const emitNode = (node: AnyStateNode, indent: string) => {
    const children = Object.values(node.states) as AnyStateNode[];
    const id = nodeId(node);
    if (children.length > 0) {
      // Composite states: plain id (the widest-supported Mermaid form).
      lines.push(`${indent}state ${id} {`);
      emitChildren(node, indent + '  ');
      lines.push(`${indent}}`);
    } else {
      lines.push(`${indent}state "${node.key}" as ${id}`);
      if (node.type === 'final') lines.push(`${indent}${id} --> [*]`);
    }
  };
  const emitChildren = (parent: AnyStateNode, indent: string) => {
    const children = Object.values(parent.states) as AnyStateNode[];
    const initial = parent.initial?.target?.[0] as AnyStateNode | undefined;
    if (initial) lines.push(`${indent}[*] --> ${nodeId(initial)}`);
    for (const c of children) emitNode(c, indent);
  };
  emitChildren(machine.root, '  ');

  // Transitions after all states, so that Mermaid knows every id.
  const walk = (node: AnyStateNode) => {
    for (const t of ownTransitions(node)) {
      const targets = (t.target ?? []) as AnyStateNode[];
      const guard = guardLabel(t.guard);
      const label = `${eventLabel(t.eventType)}${guard ? ` [${guard}]` : ''}`;
      if (targets.length === 0) {
        if (hide) continue;
        lines.push(`  ${nodeId(node)} --> ${nodeId(node)} : ${label}`);
        continue;
      }
      for (const target of targets) lines.push(`  ${nodeId(node)} --> ${nodeId(target)} : ${label}`);
    }
    for (const c of Object.values(node.states) as AnyStateNode[]) walk(c);
  };
  for (const c of Object.values(machine.root.states) as AnyStateNode[]) walk(c);
  // Root-level events handled everywhere.
  const everywhere = ownTransitions(machine.root)
    .filter((t) => !t.target || t.target.length === 0)
    .map((t) => eventLabel(t.eventType));
  if (everywhere.length > 0) lines.push(`  note right of starting : anywhere - ${everywhere.join(', ')}`);
  return lines.join('\n') + '\n';
}
