import { describe, expect, it } from "vitest";
import { grid, HOLD_MS, SpeakerTracker } from "./group";

describe("tile grid", () => {
  it("goes 1, 2 side by side, 2x2, 3x2, 3x3", () => {
    expect([1, 2, 3, 4, 5, 6, 9, 10].map((n) => grid(n))).toEqual([
      { cols: 1, rows: 1 }, { cols: 2, rows: 1 }, { cols: 2, rows: 2 }, { cols: 2, rows: 2 },
      { cols: 3, rows: 2 }, { cols: 3, rows: 2 }, { cols: 3, rows: 3 }, { cols: 4, rows: 3 },
    ]);
  });
});

describe("active speaker", () => {
  const lv = (bob: number, carol: number) => [{ nx_id: "bob", level_dbfs: bob }, { nx_id: "carol", level_dbfs: carol }];
  it("is the loudest member who speaks, and nobody in silence", () => {
    const s = new SpeakerTracker();
    expect(s.update(lv(-100, -100), 0)).toBe(null);
    expect(s.update(lv(-20, -100), 100)).toBe("bob");
  });
  it("keeps the speaker through a short pause, then hands over", () => {
    const s = new SpeakerTracker();
    s.update(lv(-20, -100), 0);
    expect(s.update(lv(-100, -30), 300)).toBe("bob");
    expect(s.update(lv(-100, -30), HOLD_MS + 10)).toBe("carol");
    expect(s.update(lv(-100, -100), HOLD_MS + 500)).toBe("carol");
    expect(s.update(lv(-100, -100), 3 * HOLD_MS + 30)).toBe(null);
  });
  it("goes to someone clearly louder at once", () => {
    const s = new SpeakerTracker();
    s.update(lv(-40, -100), 0);
    expect(s.update(lv(-40, -20), 100)).toBe("carol");
  });
  it("forgets a member who left", () => {
    const s = new SpeakerTracker();
    s.update(lv(-20, -100), 0);
    expect(s.update([{ nx_id: "carol", level_dbfs: -100 }], 100)).toBe(null);
  });
});
