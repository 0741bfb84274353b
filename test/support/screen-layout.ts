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

/**
 * What a person two metres from the speaker must be able to read and touch
 * (`page.evaluate(SCREEN_READABILITY_CHECK)`), in proportion to the screen's
 * drawn height, so it holds at any ?screen= size: the price, the countdown
 * and an outcome at least 7 % of it (a 1024×600 7-inch screen: about 6 mm);
 * titles and other lines of the purchase at least 4.5 %; touch targets at
 * least 10 % high and 15 % wide; and no developer wording on the screen
 * (directive names, error codes, state keys, undefined / NaN). Returns the
 * problems found, [] when there are none.
 */
// No named inner functions: the check runs in the page as its source text (a bundler's name helpers are not there).
export const SCREEN_READABILITY_CHECK = (): string[] => {
  const screen = document.getElementById('screen')!;
  const box = screen.getBoundingClientRect();
  const h = box.height;
  const zoom = h / (parseFloat(getComputedStyle(screen).height) || h);
  const problems: string[] = [];
  for (const [selector, share] of [
    ['#amount, #countdown, #result', 0.07],
    ['#phase, #goods-name, .kicker, .center .t, .center .what, .pay .name', 0.045],
  ] as const)
    for (const e of Array.from(screen.querySelectorAll(selector))) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const px = parseFloat(getComputedStyle(e).fontSize) * zoom;
      if (px < h * share)
        problems.push(
          `${e.tagName.toLowerCase()}#${e.id}.${String(e.className)} "${(e.textContent ?? '').slice(0, 20)}" is ${px.toFixed(1)} px high, under ${share * 100} % of ${Math.round(h)} px`,
        );
    }
  for (const b of Array.from(screen.querySelectorAll('[data-touch]'))) {
    const r = b.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.height < h * 0.1 || r.width < box.width * 0.15)
      problems.push(
        `touch target "${b.textContent}" is ${Math.round(r.width)}×${Math.round(r.height)}, too small for ${Math.round(box.width)}×${Math.round(h)}`,
      );
  }
  const dev =
    /\b(AudioPlayer|Display|Connections|Dialog)\.\w+|\bERR_[A-Z_]+|\bundefined\b|\bNaN\b|\bnull\b|\b[a-z]+\.[a-z][A-Za-z]+\b|\bpaying\b|\bcheckout\b/.exec(
      screen.innerText,
    );
  if (dev) problems.push(`developer wording on the screen: "${dev[0]}"`);
  return problems;
};
