/**
 * The one part of `qrcode` the device uses: its encoder, imported on its own
 * (`qrcode/lib/core/qrcode.js`, CommonJS, no types of its own) so that the
 * browser bundle leaves out the package's canvas, SVG and terminal renderers.
 * `@types/qrcode` only describes the package's main entry.
 */
declare module 'qrcode/lib/core/qrcode.js' {
  /** The encoded symbol: `modules.get(row, col)` is 1 for a dark module. */
  export interface QrSymbol {
    modules: { size: number; get(row: number, col: number): number };
  }
  export function create(text: string, options?: { errorCorrectionLevel?: 'L' | 'M' | 'Q' | 'H' }): QrSymbol;
}
