import { describe, expect, it } from "vitest";
import { chooseRenderer, FORMAT_RGBA, KIND_LOCAL, KIND_REMOTE, parseFrame } from "./video";

function frame(kind: number, w: number, h: number, format = 0): ArrayBuffer {
  const buf = new ArrayBuffer(16 + w * h * (format === FORMAT_RGBA ? 4 : 1.5));
  const dv = new DataView(buf);
  dv.setUint8(0, kind);
  dv.setUint8(1, format);
  dv.setUint16(2, w, true);
  dv.setUint16(4, h, true);
  dv.setBigUint64(8, 123456789n, true);
  new Uint8Array(buf, 16, w * h).fill(200);
  return buf;
}

describe("frame messages", () => {
  it("split into header and I420 planes", () => {
    const f = parseFrame(frame(KIND_REMOTE, 4, 2))!;
    expect(f.kind).toBe(KIND_REMOTE);
    expect([f.width, f.height]).toEqual([4, 2]);
    expect(f.captureUs).toBe(123456789n);
    expect(f.y.length).toBe(8);
    expect(f.u.length).toBe(2);
    expect(f.v.length).toBe(2);
    expect(f.y[0]).toBe(200);
  });
  it("carry RGBA pixels for a 2D canvas when asked", () => {
    const f = parseFrame(frame(KIND_LOCAL, 3, 2, FORMAT_RGBA))!;
    expect(f.kind).toBe(KIND_LOCAL);
    expect([f.width, f.height]).toEqual([3, 2]);
    expect(f.rgba?.length).toBe(24);
    expect(f.rgba?.[0]).toBe(200);
    expect(parseFrame(frame(KIND_LOCAL, 3, 2, FORMAT_RGBA).slice(0, 30))).toBe(null);
  });
  it("reject truncated or inconsistent messages", () => {
    expect(parseFrame(new ArrayBuffer(8))).toBe(null);
    expect(parseFrame(frame(1, 4, 2).slice(0, 20))).toBe(null);
  });
});

describe("renderer choice", () => {
  it("uses a plain 2D canvas without a GPU and obeys ?display=", () => {
    expect(chooseRenderer(false, "")).toBe("2d");
    expect(chooseRenderer(false, "?display=webgl")).toBe("webgl");
    expect(chooseRenderer(true, "?display=2d")).toBe("2d");
  });
});
