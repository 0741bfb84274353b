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
  /**
   * Draw only this state (a dotted path such as `checkout.screen`) and its
   * inside; the states its transitions come from or lead to are plain boxes,
   * and what an enclosing state does for it is drawn from its border.
   */
  focus?: string;
  /** Draw compound states this many levels down as plain boxes (what happens inside them is left out). */
  depth?: number;
}

const within = (n: AnyStateNode, a: AnyStateNode): boolean => a.path.every((k, i) => n.path[i] === k);
const cut = (n: AnyStateNode, level: number): AnyStateNode => {
  let x = n;
  while (x.path.length > level && x.parent) x = x.parent;
  return x;
};

/**
 * Mermaid text for a machine, whole or one view of it (`focus`, `depth`).
 * A compound state is labelled with its key and its `description`; its
 * initial marker is drawn only when some transition enters it by default.
 * Transitions with the same source and target are one arrow with their
 * labels joined by ` / `.
 */
export function machineToMermaid(machine: AnyStateMachine, options: MermaidOptions = {}): string {
  const hide = options.hideSelfActions ?? true;
  const depth = options.depth ?? Infinity;
  const focus = options.focus ? machine.getStateNodeById(`${machine.id}.${options.focus}`) : machine.root;
  const all = [machine.root, ...allStateNodes(machine)];
  const targets = (t: AnyTransitionDefinition) => (t.target ?? []) as AnyStateNode[];
  /** The box drawn for a state: inside the focus cut at `depth`; outside it, the outermost state that is not around the focus. */
  const shown = (n: AnyStateNode): AnyStateNode => {
    if (within(n, focus)) return cut(n, depth);
    if (within(focus, n)) return focus;
    let x = n;
    while (x.parent && !within(focus, x.parent)) x = x.parent;
    return x;
  };
  const defaultEntered = (n: AnyStateNode): boolean =>
    !n.parent ||
    all.some((s) => ownTransitions(s).some((t) => targets(t).includes(n))) ||
    (n.parent.initial?.target?.includes(n) === true && defaultEntered(n.parent));

  // Arrows: source box → target box, with their labels.
  const arrows = new Map<string, { from: AnyStateNode; to: AnyStateNode; labels: string[] }>();
  for (const node of all)
    for (const t of ownTransitions(node)) {
      const guard = guardLabel(t.guard);
      const label = `${eventLabel(String(t.eventType))}${guard ? ` [${guard}]` : ''}`;
      const list = targets(t);
      if (list.length === 0 && hide) continue;
      for (const target of list.length > 0 ? list : [node]) {
        if (!within(node, focus) && !within(focus, node) && !within(target, focus)) continue;
        const from = shown(node);
        const to = shown(target);
        if (from === to && target !== node) continue; // inside a box drawn whole
        const key = `${nodeId(from)} --> ${nodeId(to)}`;
        const a = arrows.get(key) ?? { from, to, labels: [] };
        if (!a.labels.includes(label)) a.labels.push(label);
        arrows.set(key, a);
      }
    }

  const lines: string[] = ['stateDiagram-v2'];
  const box = (node: AnyStateNode, indent: string) => {
    const id = nodeId(node);
    const label = node.description ? `${node.key} · ${node.description}` : node.key;
    const children = within(node, focus) && node.path.length < depth ? (Object.values(node.states) as AnyStateNode[]) : [];
    lines.push(`${indent}state "${label}" as ${id}`);
    if (node.type === 'final') lines.push(`${indent}${id} --> [*]`);
    if (children.length === 0) return;
    lines.push(`${indent}state ${id} {`);
    inside(node, children, indent + '  ');
    lines.push(`${indent}}`);
  };
  const inside = (parent: AnyStateNode, children: AnyStateNode[], indent: string) => {
    const initial = parent.initial?.target?.[0] as AnyStateNode | undefined;
    if (initial && defaultEntered(parent)) lines.push(`${indent}[*] --> ${nodeId(initial)}`);
    for (const c of children) box(c, indent);
  };
  if (focus === machine.root) inside(focus, Object.values(focus.states) as AnyStateNode[], '  ');
  else {
    const outside = new Set<AnyStateNode>();
    for (const a of arrows.values()) for (const n of [a.from, a.to]) if (!within(n, focus)) outside.add(n);
    for (const n of all) if (outside.has(n) && [...arrows.values()].some((a) => a.from === n)) box(n, '  ');
    box(focus, '  ');
    for (const n of all) if (outside.has(n) && ![...arrows.values()].some((a) => a.from === n)) box(n, '  ');
  }
  // Arrows after all states, so that Mermaid knows every id.
  for (const [key, a] of arrows) lines.push(`  ${key} : ${a.labels.join(' / ')}`);
  // Root-level events handled everywhere.
  const first = machine.root.initial?.target?.[0] as AnyStateNode | undefined;
  const everywhere = ownTransitions(machine.root)
    .filter((t) => targets(t).length === 0)
    .map((t) => eventLabel(String(t.eventType)));
  if (focus === machine.root && everywhere.length > 0 && first) lines.push(`  note right of ${nodeId(first)} : anywhere - ${everywhere.join(', ')}`);
  return lines.join('\n') + '\n';
}
