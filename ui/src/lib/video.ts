// Video in the window: frames arrive over a loopback WebSocket (binary messages: a 16-byte
// header, then the pixels). Where WebGL2 runs on a GPU, I420 planes go to a YUV shader; where it
// is emulated on the CPU (llvmpipe) that shader plus the read-back cost more than converting to
// RGBA at the on-screen size in Rust (`simu bench display`) and copying it to a 2D canvas.

export interface Frame { kind: number; width: number; height: number; captureUs: bigint; y: Uint8Array; u: Uint8Array; v: Uint8Array; rgba?: Uint8ClampedArray<ArrayBuffer> }

export const KIND_LOCAL = 0;
export const KIND_REMOTE = 1;
export const FORMAT_I420 = 0;
export const FORMAT_RGBA = 1;

export function parseFrame(buf: ArrayBuffer): Frame | null {
  if (buf.byteLength < 16) return null;
  const dv = new DataView(buf);
  const kind = dv.getUint8(0);
  const format = dv.getUint8(1);
  const width = dv.getUint16(2, true);
  const height = dv.getUint16(4, true);
  const captureUs = dv.getBigUint64(8, true);
  if (format === FORMAT_RGBA) {
    if (width === 0 || height === 0 || buf.byteLength !== 16 + width * height * 4) return null;
    const none = new Uint8Array(0);
    return { kind, width, height, captureUs, y: none, u: none, v: none, rgba: new Uint8ClampedArray(buf, 16, width * height * 4) };
  }
  const ySize = width * height;
  const cSize = (width / 2) * (height / 2);
  if (width === 0 || height === 0 || buf.byteLength !== 16 + ySize + 2 * cSize) return null;
  return {
    kind, width, height, captureUs,
    y: new Uint8Array(buf, 16, ySize),
    u: new Uint8Array(buf, 16 + ySize, cSize),
    v: new Uint8Array(buf, 16 + ySize + cSize, cSize),
  };
}

const VS = `#version 300 es
in vec2 pos; out vec2 uv;
void main() { uv = vec2((pos.x + 1.0) * 0.5, (1.0 - pos.y) * 0.5); gl_Position = vec4(pos, 0.0, 1.0); }`;
const FS = `#version 300 es
precision mediump float;
in vec2 uv; out vec4 color;
uniform sampler2D ty; uniform sampler2D tu; uniform sampler2D tv;
void main() {
  float y = 1.1643 * (texture(ty, uv).r - 0.0625);
  float u = texture(tu, uv).r - 0.5;
  float v = texture(tv, uv).r - 0.5;
  color = vec4(y + 1.5958 * v, y - 0.39173 * u - 0.81290 * v, y + 2.017 * u, 1.0);
}`;

/** Draws I420 frames on one canvas. */
export class YuvRenderer {
  private gl: WebGL2RenderingContext;
  private tex: WebGLTexture[] = [];
  frames = 0;

  constructor(private canvas: HTMLCanvasElement) {
    const gl = canvas.getContext("webgl2", { antialias: false, depth: false, preserveDrawingBuffer: false });
    if (!gl) throw new Error("WebGL2 is not available");
    this.gl = gl;
    const prog = gl.createProgram()!;
    for (const [type, src] of [[gl.VERTEX_SHADER, VS], [gl.FRAGMENT_SHADER, FS]] as const) {
      const s = gl.createShader(type)!;
      gl.shaderSource(s, src);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s) ?? "shader");
      gl.attachShader(prog, s);
    }
    gl.linkProgram(prog);
    gl.useProgram(prog);
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    const loc = gl.getAttribLocation(prog, "pos");
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
    ["ty", "tu", "tv"].forEach((name, i) => {
      const t = gl.createTexture()!;
      gl.activeTexture(gl.TEXTURE0 + i);
      gl.bindTexture(gl.TEXTURE_2D, t);
      for (const p of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, p, gl.LINEAR);
      for (const p of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T]) gl.texParameteri(gl.TEXTURE_2D, p, gl.CLAMP_TO_EDGE);
      gl.uniform1i(gl.getUniformLocation(prog, name), i);
      this.tex.push(t);
    });
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  }

  draw(f: Frame) {
    const gl = this.gl;
    // Draw at the size the canvas occupies on screen, so the page never rescales the picture.
    const dpr = window.devicePixelRatio || 1;
    const cw = Math.max(1, Math.round(this.canvas.clientWidth * dpr)) || f.width;
    const ch = Math.max(1, Math.round(this.canvas.clientHeight * dpr)) || f.height;
    if (this.canvas.width !== cw || this.canvas.height !== ch) {
      this.canvas.width = cw;
      this.canvas.height = ch;
    }
    const scale = Math.min(cw / f.width, ch / f.height);
    const vw = Math.round(f.width * scale);
    const vh = Math.round(f.height * scale);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.viewport((cw - vw) >> 1, (ch - vh) >> 1, vw, vh);
    const planes: [Uint8Array, number, number][] = [[f.y, f.width, f.height], [f.u, f.width / 2, f.height / 2], [f.v, f.width / 2, f.height / 2]];
    planes.forEach(([data, w, h], i) => {
      gl.activeTexture(gl.TEXTURE0 + i);
      gl.bindTexture(gl.TEXTURE_2D, this.tex[i]);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.R8, w, h, 0, gl.RED, gl.UNSIGNED_BYTE, data);
    });
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    this.frames++;
  }
}

export type RendererKind = "webgl" | "2d";

/** The cheaper renderer here: `?display=webgl|2d` forces one (for benchmarks), else WebGL2 when
 * the app says there is a GPU. WebKit masks WebGL's renderer name, so the page cannot tell. */
export function chooseRenderer(gpu: boolean, search = location.search): RendererKind {
  const forced = new URLSearchParams(search).get("display");
  if (forced === "webgl" || forced === "2d") return forced;
  return gpu && document.createElement("canvas").getContext("webgl2") ? "webgl" : "2d";
}

/** Draws RGBA frames (already at their on-screen size) on a 2D canvas: a plain copy. */
export class RgbaRenderer {
  private ctx: CanvasRenderingContext2D;
  frames = 0;

  constructor(private canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext("2d", { alpha: false });
    if (!ctx) throw new Error("2D canvas is not available");
    this.ctx = ctx;
  }

  draw(f: Frame) {
    if (!f.rgba) return;
    if (this.canvas.width !== f.width || this.canvas.height !== f.height) {
      this.canvas.width = f.width;
      this.canvas.height = f.height;
    }
    this.ctx.putImageData(new ImageData(f.rgba, f.width, f.height), 0, 0);
    this.frames++;
  }
}

/** Receives frames and hands the newest of each kind to a draw callback once per display frame.
 * Kinds: 0 the local picture, 1 the first member's, then one per other member of a group call
 * (the server says whose with a `tiles` message). */
export class FrameClient {
  private ws: WebSocket | null = null;
  private sizes: [number, number][] = [[0, 0], [0, 0]];
  private rgba: boolean[] = [false, false];
  private pending = new Map<number, Frame>();
  private raf = 0;
  private closed = false;
  received = 0;

  constructor(private url: string, private onFrame: (f: Frame) => void, private onTiles: (tiles: [number, string][]) => void = () => {}) {
    this.connect();
    const loop = () => {
      for (const [k, f] of this.pending) {
        this.pending.delete(k);
        this.onFrame(f);
      }
      if (!this.closed) this.raf = requestAnimationFrame(loop);
    };
    this.raf = requestAnimationFrame(loop);
  }

  private connect() {
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => this.sendSizes();
    ws.onmessage = (m) => {
      if (typeof m.data === "string") {
        try {
          const msg = JSON.parse(m.data) as { tiles?: [number, string][] };
          if (Array.isArray(msg.tiles)) this.onTiles(msg.tiles);
        } catch { /* not a message we know */ }
        return;
      }
      const f = parseFrame(m.data as ArrayBuffer);
      if (f) {
        this.received++;
        this.pending.set(f.kind, f);
      }
    };
    ws.onclose = () => {
      if (!this.closed) setTimeout(() => this.connect(), 500);
    };
    this.ws = ws;
  }

  /** Tells the frame server how many device pixels a picture of `kind` occupies on screen. */
  setShownSize(kind: number, width: number, height: number, rgba = false) {
    while (this.sizes.length <= kind) { this.sizes.push([0, 0]); this.rgba.push(false); }
    this.sizes[kind] = [Math.round(width), Math.round(height)];
    this.rgba[kind] = rgba;
    this.sendSizes();
  }

  private sendSizes() {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ sizes: this.sizes, rgba: this.rgba }));
  }

  close() {
    this.closed = true;
    cancelAnimationFrame(this.raf);
    this.ws?.close();
  }
}

/** Video on screen: canvases for the local and/or remote picture, fed by one frame client that
 * knows each canvas's on-screen size. `close()` stops it all. */
export interface MountedVideo {
  renderer: RendererKind;
  frames: (kind: number) => number;
  client: FrameClient;
  close: () => void;
}

/** Canvases by kind, attached and detached as tiles come and go, all fed by one frame client. */
export interface VideoBoard extends MountedVideo {
  attach: (kind: number, canvas: HTMLCanvasElement) => void;
  detach: (kind: number) => void;
}

export function mountBoard(url: string, gpu: boolean, onFrame?: (kind: number) => void, onTiles?: (tiles: [number, string][]) => void): VideoBoard {
  const renderer = chooseRenderer(gpu);
  const plain = renderer === "2d";
  const drawers = new Map<number, { canvas: HTMLCanvasElement; r: YuvRenderer | RgbaRenderer }>();
  const counts = new Map<number, number>();
  const client = new FrameClient(url, (f) => {
    const d = drawers.get(f.kind);
    if (!d) return;
    d.r.draw(f);
    counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
    onFrame?.(f.kind);
  }, onTiles);
  const dpr = window.devicePixelRatio || 1;
  const observer = new ResizeObserver((entries) => {
    for (const e of entries) {
      for (const [kind, d] of drawers) if (d.canvas === e.target) client.setShownSize(kind, e.contentRect.width * dpr, e.contentRect.height * dpr, plain);
    }
  });
  return {
    renderer,
    client,
    frames: (kind) => counts.get(kind) ?? 0,
    attach: (kind, canvas) => {
      const old = drawers.get(kind);
      if (old?.canvas === canvas) return;
      if (old) observer.unobserve(old.canvas);
      drawers.set(kind, { canvas, r: plain ? new RgbaRenderer(canvas) : new YuvRenderer(canvas) });
      observer.observe(canvas);
    },
    detach: (kind) => {
      const old = drawers.get(kind);
      if (old) observer.unobserve(old.canvas);
      drawers.delete(kind);
      client.setShownSize(kind, 0, 0, plain);
    },
    close: () => { observer.disconnect(); client.close(); },
  };
}

export function mountVideo(url: string, gpu: boolean, canvases: { local?: HTMLCanvasElement; remote?: HTMLCanvasElement }, onRemote?: () => void): MountedVideo {
  const board = mountBoard(url, gpu, (kind) => { if (kind === KIND_REMOTE) onRemote?.(); });
  if (canvases.local) board.attach(KIND_LOCAL, canvases.local);
  if (canvases.remote) board.attach(KIND_REMOTE, canvases.remote);
  return board;
}
