import { describe, expect, it } from "vitest";
import { screenFor } from "./screens";

describe("the call state decides the screen", () => {
  it("shows the ringing screens while a call is set up", () => {
    expect(screenFor("calling")).toBe("outgoing");
    expect(screenFor("incoming")).toBe("incoming");
  });
  it("shows the call once media flows, and the dialer after", () => {
    expect(screenFor("connected")).toBe("incall");
    expect(screenFor("ended")).toBe("dialer");
    expect(screenFor("idle")).toBe("dialer");
  });
});
