import { describe, expect, it } from "vitest";
import { isTyping, keyAction } from "./keys";

describe("keyboard shortcuts", () => {
  it("answers a ringing call with Enter", () => {
    expect(keyAction("incoming", "Enter", false)).toBe("accept");
  });
  it("never ends a call on Escape: it closes what is open", () => {
    expect(keyAction("incall", "Escape", false)).toBe("close");
    expect(keyAction("outgoing", "Escape", false)).toBe(null);
    expect(keyAction("incoming", "Escape", false)).toBe(null);
  });
  it("hangs up only on the deliberate Ctrl+Shift+H", () => {
    expect(keyAction("incall", "H", false, { ctrl: true, shift: true })).toBe("hangup");
    expect(keyAction("outgoing", "h", false, { ctrl: true, shift: true })).toBe("hangup");
    expect(keyAction("incall", "h", false)).toBe(null);
  });
  it("mutes and turns the camera with M / V and Meet's Ctrl+D / Ctrl+E", () => {
    expect(keyAction("incall", "m", false)).toBe("mute");
    expect(keyAction("incall", "V", false)).toBe("video");
    expect(keyAction("incall", "d", false, { ctrl: true })).toBe("mute");
    expect(keyAction("incall", "e", false, { ctrl: true })).toBe("video");
  });
  it("does nothing while typing, not even Escape", () => {
    expect(keyAction("incall", "m", true)).toBe(null);
    expect(keyAction("incall", "Escape", true)).toBe(null);
    expect(keyAction("incoming", "Enter", true)).toBe(null);
  });
  it("leaves History and Settings on Escape", () => {
    expect(keyAction("history", "Escape", false)).toBe("back");
    expect(keyAction("settings", "Escape", false)).toBe("back");
    expect(keyAction("dialer", "Escape", false)).toBe(null);
  });
  it("counts fields and menus as typing", () => {
    expect(isTyping(document.createElement("input"))).toBe(true);
    expect(isTyping(document.createElement("select"))).toBe(true);
    expect(isTyping(document.createElement("button"))).toBe(false);
    expect(isTyping(null)).toBe(false);
  });
});
