/**
 * The speaker page's screen layout check, run in the page
 * (`page.evaluate(SCREEN_LAYOUT_CHECK)`): everything drawn in #screen lies
 * inside it, touch targets included (in a scrolling strip, the strip itself
 * does); one-line texts are one line; titles on up to two lines break only at
 * a space or after punctuation, never inside a word or between a number and
 * its unit (第35集). Returns the problems found, [] when there are none.
 * Measures drawn boxes, so it holds at any ?screen= size (the screen's zoom
 * included).
 */
export const SCREEN_LAYOUT_CHECK = (): string[] => {
  const screen = document.getElementById('screen')!;
  const s = screen.getBoundingClientRect();
  // Drawn px per CSS px of the screen's layout (its zoom), for comparing boxes with computed line heights.
  const zoom = s.height / (parseFloat(getComputedStyle(screen).height) || s.height);
  const problems: string[] = [];
  const scrollers = Array.from(screen.querySelectorAll('.strip, .cards'));
  for (const e of Array.from(screen.querySelectorAll('*'))) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const scroller = scrollers.find((x) => x !== e && x.contains(e));
    const box = scroller ? scroller.getBoundingClientRect() : s;
    const inside = r.left >= box.left - 0.5 && r.right <= box.right + 0.5 && r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5;
    // Inside a scroller only the vertical extent must fit (it scrolls sideways).
    const fits = scroller ? r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5 : inside;
    if (!fits)
      problems.push(
        `${e.tagName.toLowerCase()}#${e.id}.${e.className} [${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}×${Math.round(r.height)}] outside [${Math.round(box.left)},${Math.round(box.top)} ${Math.round(box.width)}×${Math.round(box.height)}]`,
      );
  }
  for (const e of Array.from(screen.querySelectorAll<HTMLElement>('.one-line'))) {
    const lh = parseFloat(getComputedStyle(e).lineHeight) || parseFloat(getComputedStyle(e).fontSize) * 1.5;
    if (e.getBoundingClientRect().height > lh * zoom * 1.5) problems.push(`"${e.textContent}" wraps`);
  }
  // Titles on up to two lines break only at a space or after punctuation: every character of every text node, in order.
  for (const e of Array.from(screen.querySelectorAll<HTMLElement>('.words'))) {
    const box = e.getBoundingClientRect();
    const text = e.textContent ?? '';
    const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    let top: number | undefined;
    let prev = '';
    let at = 0;
    let clamped = false;
    for (let node = walker.nextNode(); node && !clamped; node = walker.nextNode()) {
      const t = node.textContent ?? '';
      for (let i = 0; i < t.length; i++, at++) {
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const r = range.getBoundingClientRect();
        if (r.bottom > box.bottom + 1) {
          clamped = true; // clamped away
          break;
        }
        if (top !== undefined && r.top > top + 2 && !/[\s，。：、；！？,.:;!?）)》·]/u.test(prev) && !/\s/.test(t[i]!))
          problems.push(`"${text}" breaks inside a word at ${at} ("${text.slice(Math.max(0, at - 3), at)}|${text.slice(at, at + 3)}")`);
        top = r.top;
        prev = t[i]!;
      }
    }
  }
  return problems;
};
