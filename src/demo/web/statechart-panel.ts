/**
 * The dialog column's "状态图 · Statechart" panel: the purchase machine's
 * diagrams (`/statechart.json`, made at build time by src/demo/statechart.ts
 * from the machine definition) drawn by mermaid (`/mermaid.js`, the installed
 * package's browser build, its own script: not in this bundle), with the
 * current state lit as the companion's `state` events arrive, the state before
 * it and the arrow taken dimmed behind it. Two views, in tabs: the screen flow
 * and the whole purchase (folded); the panel follows the state to the view
 * that draws it, until a tab is picked by hand. Zoom (−, 适应, +) and scroll
 * within the panel: until a zoom is picked, the state names stay readable
 * (DEFAULT_ZOOM) — around the lit state, and at idle around where a purchase
 * starts (the whole view fitted into the 320 px column was too small to
 * read; 适应 still shows it whole); 展开 opens it over the page.
 */
import type { Statechart, StatechartView } from '../statechart.js';

interface Mermaid {
  initialize(config: Record<string, unknown>): void;
  render(id: string, text: string): Promise<{ svg: string }>;
}

/** What the panel lit, newest last: the page's record for tests. */
export interface LitRecord {
  state: string;
  view: string;
  ids: string[];
}

const FONT = '"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif';
const ZOOMS = [0.25, 0.35, 0.5, 0.65, 0.8, 1, 1.25];
/** The zoom the narrow column opens at: the state names readable, the lit state scrolled into view. */
const DEFAULT_ZOOM = 0.6;

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.async = true;
    s.onload = () => resolve();
    s.onerror = () => reject(new Error(`${src} did not load`));
    document.head.append(s);
  });
}

/** One drawn view: its SVG, natural size, and the boxes and arrows by id. */
interface Drawn {
  view: StatechartView;
  pane: HTMLElement;
  svg: SVGSVGElement;
  width: number;
  height: number;
  boxes: Map<string, Element>;
  /** Arrows in the order of the text's `-->` lines (mermaid numbers them so): from, to, the path and its label. */
  arrows: Array<{ from: string; to: string; path?: Element; label?: Element }>;
}

export class StatechartPanel {
  readonly lit: LitRecord[] = [];
  private chart?: Statechart;
  private drawn = new Map<string, Drawn>();
  private viewId = 'screen';
  private follow = true;
  /** The zoom picked by hand; until then DEFAULT_ZOOM (around the lit state, or the start at idle). */
  private zoom?: number | 'fit';
  private current?: string;
  private previous?: string;
  private readonly box: HTMLElement;
  private readonly tabs: HTMLElement;
  private readonly now: HTMLElement;

  constructor(private readonly panel: HTMLElement) {
    this.box = panel.querySelector<HTMLElement>('#chart')!;
    this.tabs = panel.querySelector<HTMLElement>('#chart-tabs')!;
    this.now = panel.querySelector<HTMLElement>('#chart-now')!;
    panel.querySelector('#chart-zoom-in')?.addEventListener('click', () => this.step(1));
    panel.querySelector('#chart-zoom-out')?.addEventListener('click', () => this.step(-1));
    panel.querySelector('#chart-fit')?.addEventListener('click', () => this.setZoom('fit'));
    panel.querySelector('#chart-expand')?.addEventListener('click', () => this.expand(!panel.classList.contains('expanded')));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && panel.classList.contains('expanded')) this.expand(false);
    });
    window.addEventListener('resize', () => this.layout());
  }

  /** Fetch the statechart and mermaid, draw every view; the panel says so when either is missing. */
  async start(): Promise<void> {
    try {
      const [chart] = await Promise.all([
        fetch('/statechart.json').then((r) => {
          if (!r.ok) throw new Error(`/statechart.json: HTTP ${r.status}`);
          return r.json() as Promise<Statechart>;
        }),
        loadScript('/mermaid.js'),
      ]);
      this.chart = chart;
      const mermaid = (globalThis as unknown as { mermaid: Mermaid }).mermaid;
      mermaid.initialize({
        startOnLoad: false,
        securityLevel: 'strict',
        theme: 'base',
        fontFamily: FONT,
        themeVariables: {
          fontFamily: FONT,
          fontSize: '15px',
          primaryColor: '#ffffff',
          primaryBorderColor: '#8a93a6',
          primaryTextColor: '#1d2129',
          lineColor: '#98a1b3',
          clusterBkg: '#f6f7fa',
          clusterBorder: '#c9cfdb',
          edgeLabelBackground: '#ffffff',
          noteBkgColor: '#fff8e1',
          noteBorderColor: '#e0c46c',
        },
        state: { useMaxWidth: false },
      });
      this.box.replaceChildren();
      for (const view of chart.views) await this.draw(mermaid, view);
      this.tabs.replaceChildren(
        ...chart.views.map((v) => {
          const b = document.createElement('button');
          b.type = 'button';
          b.dataset.view = v.id;
          b.setAttribute('role', 'tab');
          b.textContent = v.title;
          b.addEventListener('click', () => {
            this.follow = false;
            this.show(v.id);
          });
          return b;
        }),
      );
      this.show(this.current ? (chart.home[this.current] ?? this.viewId) : this.viewId);
      this.paint();
      this.panel.dataset.ready = 'true';
    } catch (e) {
      const noMermaid = !(globalThis as { mermaid?: unknown }).mermaid;
      this.box.textContent = noMermaid ? '状态图需要 mermaid（npm install mermaid）。' : `状态图无法显示：${(e as Error).message}`;
      this.panel.dataset.ready = 'failed';
    }
  }

  private async draw(mermaid: Mermaid, view: StatechartView): Promise<void> {
    const renderId = `chart-${view.id}`;
    const { svg: text } = await mermaid.render(renderId, view.mermaid);
    const pane = document.createElement('div');
    pane.className = 'chart-pane';
    pane.dataset.view = view.id;
    pane.innerHTML = text;
    this.box.append(pane);
    const svg = pane.querySelector('svg')!;
    const vb = svg.viewBox.baseVal;
    const boxes = new Map<string, Element>();
    const idOf = new RegExp(`^${renderId}-state-(.+)-\\d+$`);
    for (const g of Array.from(svg.querySelectorAll('g.node, g.statediagram-cluster'))) {
      const id = g.getAttribute('data-id') ?? idOf.exec(g.id)?.[1];
      if (id && !boxes.has(id)) boxes.set(id, g);
    }
    const arrows = view.mermaid
      .split('\n')
      .map((l) => /^\s*(\S+) --> (\S+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m, i) => ({
        from: m[1]!,
        to: m[2]!,
        path: svg.querySelector(`path[data-id="edge${i}"]`) ?? undefined,
        label: svg.querySelector(`.edgeLabel .label[data-id="edge${i}"]`)?.parentElement ?? undefined,
      }));
    this.drawn.set(view.id, { view, pane, svg, width: vb.width || svg.getBBox().width, height: vb.height || svg.getBBox().height, boxes, arrows });
  }

  /** A purchase state (`goods`, `paying.awaitingScan`, `done`…): lit now, the one before it dimmed. */
  state(key: string, previous?: string): void {
    this.previous = previous; // none at a purchase's start: the last purchase leaves no trail
    this.current = key;
    if (this.follow && this.chart) this.show(this.chart.home[key] ?? this.viewId);
    this.paint();
  }

  /** No purchase: the diagram unlit (it keeps its view and zoom). */
  idle(): void {
    this.current = undefined;
    this.previous = undefined;
    this.follow = true;
    this.paint();
  }

  private show(viewId: string): void {
    this.viewId = viewId;
    this.panel.dataset.view = viewId;
    for (const b of Array.from(this.tabs.querySelectorAll<HTMLElement>('button'))) b.setAttribute('aria-selected', String(b.dataset.view === viewId));
    for (const d of this.drawn.values()) d.pane.hidden = d.view.id !== viewId;
    this.layout();
  }

  private paint(): void {
    this.panel.dataset.state = this.current ?? '';
    this.now.textContent = this.current ?? '空闲 · idle';
    this.now.title = this.current ? `当前状态 · ${this.current}` : '';
    for (const d of this.drawn.values()) {
      for (const el of Array.from(d.svg.querySelectorAll('.lit, .trail, .within, .taken'))) el.classList.remove('lit', 'trail', 'within', 'taken');
      const now = this.current ? (d.view.states[this.current] ?? []) : [];
      const before = this.previous ? (d.view.states[this.previous] ?? []).filter((id) => !now.includes(id)) : [];
      for (const id of now) {
        d.boxes.get(id)?.classList.add('lit');
        for (const [other, g] of d.boxes) if (id.startsWith(`${other}_`)) g.classList.add('within');
      }
      for (const id of before) d.boxes.get(id)?.classList.add('trail');
      // The arrow taken: from the state before (or a box around it) to the state now (or a box around it), the nearest first.
      const around = (id: string, target: string) => target === id || id.startsWith(`${target}_`);
      const taken = now
        .flatMap((to) => before.map((from) => d.arrows.filter((a) => around(from, a.from) && around(to, a.to))))
        .flat()
        .sort((a, b) => b.from.length + b.to.length - (a.from.length + a.to.length))[0];
      taken?.path?.classList.add('taken');
      taken?.label?.classList.add('taken');
      if (d.view.id === this.viewId) {
        const ids = now.filter((id) => d.boxes.has(id));
        this.lit.push({ state: this.current ?? '', view: d.view.id, ids });
        if (this.lit.length > 200) this.lit.shift();
      }
    }
    this.layout();
  }

  private step(dir: 1 | -1): void {
    const z = this.zoomNow();
    const next = dir > 0 ? ZOOMS.find((x) => x > z + 1e-3) : [...ZOOMS].reverse().find((x) => x < z - 1e-3);
    this.setZoom(next ?? z);
  }

  private setZoom(z: number | 'fit'): void {
    this.zoom = z;
    this.layout();
  }

  private zoomNow(): number {
    if (this.zoom === 'fit') return this.fitZoom();
    // Until a zoom is picked: readable, or the whole view when that fits larger.
    return this.zoom ?? Math.max(DEFAULT_ZOOM, Math.min(this.fitZoom(), 1));
  }

  private fitZoom(): number {
    const d = this.drawn.get(this.viewId);
    if (!d) return 1;
    const cs = getComputedStyle(this.box);
    const w = this.box.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 2;
    const h = this.box.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom) - 2;
    return Math.max(0.1, Math.min(w / d.width, h / d.height, 1.25));
  }

  private layout(): void {
    const d = this.drawn.get(this.viewId);
    if (!d) return;
    const z = this.zoomNow();
    d.svg.style.width = `${Math.round(d.width * z)}px`;
    d.svg.style.height = `${Math.round(d.height * z)}px`;
    d.svg.style.maxWidth = 'none';
    this.panel.dataset.zoom = this.zoom === 'fit' ? 'fit' : String(Math.round(z * 100) / 100);
    this.reveal();
  }

  /** Scroll the lit box to the middle of the panel; at idle, the start (the initial state's dot) near the top. */
  private reveal(): void {
    const d = this.drawn.get(this.viewId);
    const lit = d?.svg.querySelector('.lit');
    if (!lit && d && this.current === undefined) {
      const start = d.svg.querySelector('.state-start')?.closest('g') ?? d.svg.querySelector('g.node');
      if (!start) return;
      const r = start.getBoundingClientRect();
      const b = this.box.getBoundingClientRect();
      this.box.scrollTo({ left: this.box.scrollLeft + r.left + r.width / 2 - (b.left + b.width / 2), top: this.box.scrollTop + r.top - b.top - 48 });
      return;
    }
    const g = lit;
    if (!g) return;
    const r = g.getBoundingClientRect();
    const b = this.box.getBoundingClientRect();
    this.box.scrollTo({
      left: this.box.scrollLeft + r.left + r.width / 2 - (b.left + b.width / 2),
      top: this.box.scrollTop + r.top + r.height / 2 - (b.top + b.height / 2),
      behavior: 'smooth',
    });
  }

  private expand(open: boolean): void {
    this.panel.classList.toggle('expanded', open);
    const b = this.panel.querySelector('#chart-expand');
    if (b) b.textContent = open ? '收起 · Close' : '展开 · Expand';
    this.layout();
  }
}
