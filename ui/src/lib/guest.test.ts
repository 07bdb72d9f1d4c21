import { describe, expect, it } from "vitest";
import { guestName, isGuest } from "./guest";

describe("guests", () => {
  it("are told by their server-given address and marked beside their typed name", () => {
    expect(isGuest("guest-0a1b2c3d4e5f6a7b@simu.local")).toBe(true);
    expect(isGuest("guest0a1b@simu.local")).toBe(false);
    expect(isGuest("alice@simu.local")).toBe(false);
    expect(guestName("Jane")).toBe("Jane (guest, via link)");
    expect(guestName("  ")).toBe("Guest (guest, via link)");
  });
});
