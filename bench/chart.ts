/**
 * The bench chart, drawn offline with no dependency: p50 latency vs concurrency, one line per
 * path, one panel per answer size, on an RGBA canvas with a built-in 5×7 pixel font, written
 * as PNG (node:zlib does the compression; the container is a few dozen lines).
 */
import { deflateSync } from 'node:zlib';
import { PATHS, type BenchResults, type PathName } from './report.js';

type RGB = [number, number, number];

const COLORS: Record<PathName, RGB> = {
  direct: [120, 120, 120],
  nginx: [0, 150, 60],
  pipe: [30, 100, 220],
  responses: [230, 140, 0],
  chat: [210, 30, 40],
};

// 5×7 glyphs, one string of 7 rows × 5 columns per character ('#' = ink).
const FONT: Record<string, string> = {
  '0': ' ### #   ##  ### # ###  ##   # ### ',
  '1': '  #   ##    #    #    #    #   ### ',
  '2': ' ### #   #    #   #   #   #   #####',
  '3': '#####   #   #     #     ##   # ### ',
  '4': '   #   ##  # # #  # #####   #    # ',
  '5': '######    ####     #    ##   # ### ',
  '6': '  ##  #   #    #### #   ##   # ### ',
  '7': '#####    #   #   #   #    #    #   ',
  '8': ' ### #   ##   # ### #   ##   # ### ',
  '9': ' ### #   ##   # ####    #   #  ##  ',
  a: '           ###     # #####   # ####',
  b: '#    #    # ## ##  ##   ##   ##### ',
  c: '           ### #    #    #   # ### ',
  d: '    #    # ## ##  ###   ##   # ####',
  e: '           ### #   #######     ### ',
  f: '  ##  #  # #   ###   #    #    #   ',
  g: '      #####   ##   # ####    # ### ',
  h: '#    #    # ## ##  ##   ##   ##   #',
  i: '  #        ##    #    #    #   ### ',
  j: '   #        ##    #    # #  #  ##  ',
  k: '#    #    #  # # #  ##   # #  #  # ',
  l: ' ##    #    #    #    #    #   ### ',
  m: '          ## # # # ## # ##   ##   #',
  n: '          # ## ##  ##   ##   ##   #',
  o: '           ### #   ##   ##   # ### ',
  p: '          #### #   ##### #    #    ',
  q: '           ## ##  ## ####    #    #',
  r: '          # ## ##  ##    #    #    ',
  s: '           ### #     ###     ##### ',
  t: ' #    #   ###   #    #    #  #  ## ',
  u: '          #   ##   ##   ##  ## ## #',
  v: '          #   ##   ##   # # #   #  ',
  w: '          #   ##   ## # ## # # # # ',
  x: '          #   # # #   #   # # #   #',
  y: '          #   ##   # ####    # ### ',
  z: '          #####   #   #   #   #####',
  ' ': '                                   ',
  '.': '                          ##   ##  ',
  ',': '                     ##    #   #   ',
  '-': '               #####               ',
  '/': '    #    #   #   #   #   #    #    ',
  ':': '      ##   ##        ##   ##       ',
  '(': '   #   #   #    #    #     #     # ',
  ')': ' #     #     #    #    #   #   #   ',
  '=': '          #####     #####          ',
  '%': '##   ##  #   #   #   #   #  ##   ##',
  '+': '       #    #  #####  #    #       ',
};

function glyph(ch: string): string {
  return FONT[ch] ?? FONT[ch.toLowerCase()] ?? FONT['-']!;
}

class Canvas {
  readonly data: Buffer;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = Buffer.alloc(width * height * 4, 255);
  }

  set(x: number, y: number, [r, g, b]: RGB): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    this.data[i] = r;
    this.data[i + 1] = g;
    this.data[i + 2] = b;
    this.data[i + 3] = 255;
  }

  rect(x: number, y: number, w: number, h: number, c: RGB): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, c);
  }

  /** A line `thick` pixels wide (DDA). */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB, thick = 1): void {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    const r = Math.floor(thick / 2);
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dx = -r; dx <= r; dx++) for (let dy = -r; dy <= r; dy++) this.set(x + dx, y + dy, c);
    }
  }

  /** Text at scale `k` (each font pixel k×k); returns the width drawn. */
  text(x: number, y: number, s: string, c: RGB, k = 2): number {
    let cx = x;
    for (const ch of s) {
      const g = glyph(ch);
      for (let row = 0; row < 7; row++) for (let col = 0; col < 5; col++) if (g[row * 5 + col] === '#') this.rect(cx + col * k, y + row * k, k, k, c);
      cx += 6 * k;
    }
    return cx - x;
  }

  png(): Buffer {
    const raw = Buffer.alloc((this.width * 4 + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (this.width * 4 + 1)] = 0; // filter: none
      this.data.copy(raw, y * (this.width * 4 + 1) + 1, y * this.width * 4, (y + 1) * this.width * 4);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 6; // RGBA
    return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 4, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** p50 latency (ms) vs concurrency, a panel per answer size, a line per path. */
export function renderChart(r: BenchResults): Buffer {
  const sizes = [...new Set(r.cells.map((c) => c.tokens))];
  const concs = [...new Set(r.cells.map((c) => c.concurrency))].sort((a, b) => a - b);
  const paths = PATHS.filter((p) => r.cells.some((c) => c.path === p));
  const panelW = 420;
  const panelH = 330;
  const top = 70;
  const W = panelW * sizes.length + 40;
  const H = top + panelH + 90;
  const cv = new Canvas(W, H);
  const ink: RGB = [30, 30, 30];
  const grid: RGB = [225, 225, 225];
  cv.text(20, 16, `cliproxy bench ${r.date.slice(0, 16).replace('T', ' ')} - p50 latency (ms) vs concurrency`, ink, 2);
  cv.text(20, 40, `${r.cliproxy}${r.label ? ` ${r.label}` : ''}, node ${r.node}, nginx ${r.nginx.startsWith('absent') ? 'absent' : 'measured'}`, [90, 90, 90], 2);
  sizes.forEach((tokens, pi) => {
    const x0 = 20 + pi * panelW + 70;
    const y0 = top + 30;
    const w = panelW - 100;
    const h = panelH - 60;
    const cells = r.cells.filter((c) => c.tokens === tokens);
    const ymax = niceMax(Math.max(...cells.map((c) => c.latency.p50)) * 1.05);
    cv.text(x0, top, `${tokens} token${tokens === 1 ? '' : 's'}`, ink, 2);
    for (let i = 0; i <= 4; i++) {
      const y = y0 + h - (h * i) / 4;
      cv.line(x0, y, x0 + w, y, grid);
      const tick = (ymax * i) / 4;
      const label = Number.isInteger(tick) ? String(tick) : tick.toFixed(tick < 1 ? 2 : 1);
      cv.text(x0 - 8 - label.length * 12, y - 7, label, ink, 2);
    }
    cv.line(x0, y0, x0, y0 + h, ink, 2);
    cv.line(x0, y0 + h, x0 + w, y0 + h, ink, 2);
    const xAt = (i: number) => x0 + (concs.length === 1 ? w / 2 : (w * i) / (concs.length - 1));
    concs.forEach((c, i) => {
      const label = `c=${c}`;
      cv.text(xAt(i) - label.length * 6, y0 + h + 10, label, ink, 2);
    });
    for (const p of paths) {
      const pts = concs.map((c, i) => {
        const cell = cells.find((x) => x.path === p && x.concurrency === c);
        return cell ? [xAt(i), y0 + h - (h * cell.latency.p50) / ymax] : undefined;
      });
      for (let i = 0; i + 1 < pts.length; i++) {
        const a = pts[i];
        const b = pts[i + 1];
        if (a && b) cv.line(a[0]!, a[1]!, b[0]!, b[1]!, COLORS[p], 3);
      }
      for (const pt of pts) if (pt) cv.rect(pt[0]! - 4, pt[1]! - 4, 9, 9, COLORS[p]);
    }
  });
  let lx = 90;
  const ly = top + panelH + 40;
  for (const p of paths) {
    cv.rect(lx, ly + 2, 24, 10, COLORS[p]);
    lx += 32 + cv.text(lx + 32, ly, p, ink, 2) + 30;
  }
  return cv.png();
}
