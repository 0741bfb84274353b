/**
 * The speaker page's screen size: `?screen=1024x600` (or `1024×600`), 600×375
 * (16:10) when absent or out of range. The screen's layout is designed for
 * 375 px of height: a larger panel zooms it (`zoom`, so that text stays sharp
 * and boxes are measured at their drawn size) and a wider one gets the extra
 * width, so a person two metres away sees the same proportions on a 7-inch
 * 1024×600 speaker as on a 10-inch 1280×800 one.
 */

export interface ScreenSize {
  /** The panel's size on the page, px. */
  width: number;
  height: number;
  /** The CSS zoom of the screen's layout. */
  zoom: number;
  /** The layout's own size (before the zoom), px. */
  layoutWidth: number;
  layoutHeight: number;
  /** "600x375" */
  name: string;
}

export const DESIGN_WIDTH = 600;
export const DESIGN_HEIGHT = 375;

const LIMITS = { minWidth: 320, maxWidth: 2560, minHeight: 240, maxHeight: 1600 };

/** The size named by `spec` ("1024x600"), or the default 600×375 when it is missing or not a sensible screen. */
export function screenSize(spec?: string | null): ScreenSize {
  const m = /^\s*(\d{3,4})\s*[x×X*]\s*(\d{3,4})\s*$/u.exec(spec ?? '');
  let width = DESIGN_WIDTH;
  let height = DESIGN_HEIGHT;
  if (m) {
    const w = Number(m[1]);
    const h = Number(m[2]);
    if (w >= LIMITS.minWidth && w <= LIMITS.maxWidth && h >= LIMITS.minHeight && h <= LIMITS.maxHeight) {
      width = w;
      height = h;
    }
  }
  const zoom = Math.min(width / DESIGN_WIDTH, height / DESIGN_HEIGHT);
  return {
    width,
    height,
    zoom,
    layoutWidth: width / zoom,
    layoutHeight: height / zoom,
    name: `${width}x${height}`,
  };
}
