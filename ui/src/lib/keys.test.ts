import { describe, expect, it } from "vitest";
import { keyAction } from "./keys";

describe("keyboard shortcuts", () => {
  it("answers and declines on the incoming screen", () => {
    expect(keyAction("incoming", "Enter", false)).toBe("accept");
    expect(keyAction("incoming", "Escape", false)).toBe("decline");
  });
  it("mutes, toggles video and hangs up in a call, but not while typing", () => {
    expect(keyAction("incall", "m", false)).toBe("mute");
    expect(keyAction("incall", "V", false)).toBe("video");
    expect(keyAction("incall", "m", true)).toBe(null);
    expect(keyAction("incall", "Escape", true)).toBe("hangup");
  });
  it("does nothing elsewhere", () => {
    expect(keyAction("dialer", "Enter", false)).toBe(null);
    expect(keyAction("outgoing", "Escape", false)).toBe("cancel");
  });
});
