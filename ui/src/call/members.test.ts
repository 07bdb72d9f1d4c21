import { describe, expect, it } from "vitest";
import { tilesOf } from "./members";

describe("group call tiles", () => {
  it("show everyone with media, then those still ringing; not those who left", () => {
    const tiles = tilesOf([[1, "bob@x"], [2, "carol@x"]], {
      "carol@x": { membership: "joined", audio: false, video: true },
      "dave@x": { membership: "ringing", audio: true, video: true },
      "erin@x": { membership: "left", audio: true, video: true },
    });
    expect(tiles.map((t) => [t.nxid, t.kind, t.audio])).toEqual([["bob@x", 1, true], ["carol@x", 2, false], ["dave@x", null, true]]);
  });
});
