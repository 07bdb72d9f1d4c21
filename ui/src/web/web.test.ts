import { describe, expect, it } from "vitest";
import { deepLink, isReferenceLink, linkQuery } from "./link";
import { parseMessage, xmlEscape } from "./nx";
import { qualityOf } from "./session";
import { clock } from "./strings";

const xml = (s: string) => new DOMParser().parseFromString(s, "application/xml").documentElement;

describe("the call page", () => {
  it("reads its link and hands it to the desktop app", () => {
    expect(linkQuery({ search: "?room=r&sig=00" })).toBe("room=r&sig=00");
    expect(isReferenceLink({ pathname: "/nexacon-call.html" })).toBe(true);
    expect(isReferenceLink({ pathname: "/call" })).toBe(false);
    expect(deepLink("http://h/call?room=r&caller=a")).toBe("simu://join?link=http%3A%2F%2Fh%2Fcall%3Froom%3Dr%26caller%3Da");
  });

  it("escapes what it writes into XML and reads only JSON signals out of messages", () => {
    expect(xmlEscape(`<a href="x">&'`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
    const m = parseMessage(xml(`<message from="alice@h/r"><body>{"type":"call_end","roomId":"r1"}</body></message>`));
    expect(m?.signal.type).toBe("call_end");
    expect(m?.from).toBe("alice@h/r");
    expect(parseMessage(xml(`<message><body>plain text</body></message>`))).toBeNull();
    expect(parseMessage(xml(`<message type="error"><body>{"type":"call_end"}</body></message>`))).toBeNull();
    expect(parseMessage(xml(`<iq type="get"/>`))).toBeNull();
  });

  it("grades the connection from round-trip time and loss", () => {
    expect(qualityOf(undefined, undefined)).toBe("unknown");
    expect(qualityOf(40, 0)).toBe("good");
    expect(qualityOf(200, 0)).toBe("fair");
    expect(qualityOf(40, 5)).toBe("fair");
    expect(qualityOf(500, 0)).toBe("poor");
    expect(qualityOf(40, 12)).toBe("poor");
  });

  it("shows durations as a clock", () => {
    expect(clock(0)).toBe("0:00");
    expect(clock(65.4)).toBe("1:05");
    expect(clock(3725)).toBe("1:02:05");
  });
});

describe("who offers between two members", () => {
  it("is the later joiner, and on a tie the greater address, as Simu decides", async () => {
    const { laterJoiner } = await import("./session");
    expect(laterJoiner(2000, "guest-1@x", 1000, "bob@x")).toBe(true);
    expect(laterJoiner(1000, "guest-1@x", 2000, "bob@x")).toBe(false);
    expect(laterJoiner(1000, "guest-1@x", 1000, "bob@x")).toBe(true);
    expect(laterJoiner(1000, "bob@x", 1000, "guest-1@x")).toBe(false);
  });
});
