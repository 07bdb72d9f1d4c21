import { describe, expect, it } from "vitest";
import { bitrate, byDay, dayLabel, duration, grade, lossFraction, lossRates, measured, shortAddress } from "./format";

describe("duration", () => {
  it("shows minutes and seconds, and hours when needed", () => {
    expect(duration(0)).toBe("0:00");
    expect(duration(65)).toBe("1:05");
    expect(duration(3725)).toBe("1:02:05");
    expect(duration(-3)).toBe("0:00");
  });
});

describe("bitrate", () => {
  it("picks a readable unit", () => {
    expect(bitrate(950)).toBe("950 bit/s");
    expect(bitrate(64_400)).toBe("64 kbit/s");
    expect(bitrate(1_234_000)).toBe("1.23 Mbit/s");
  });
});

describe("network grade", () => {
  it("is good on a clean path, fair and poor as loss, delay or jitter grow", () => {
    expect(grade(null, null, null)).toBe("unknown");
    expect(grade(0, 20, 5)).toBe("good");
    expect(grade(0.05, 20, 5)).toBe("fair");
    expect(grade(0, 200, 5)).toBe("fair");
    expect(grade(0.15, 20, 5)).toBe("poor");
    expect(grade(0, 20, 120)).toBe("poor");
  });
  it("computes loss from counter deltas", () => {
    expect(lossFraction(0, 0, 5, 95)).toBeCloseTo(0.05);
    expect(lossFraction(5, 95, 5, 195)).toBe(0);
    expect(lossFraction(10, 100, 10, 100)).toBe(0);
  });
});

describe("statistics in words", () => {
  it("turns cumulative loss counters into a rate per sample", () => {
    expect(lossRates([0, 10, 10], [0, 90, 190])).toEqual([0, 0.1, 0]);
  });
  it("shows a dash for what is not measured", () => {
    expect(measured(undefined, "ms")).toBe("–");
    expect(measured(null, "ms")).toBe("–");
    expect(measured(41.6, "ms")).toBe("42 ms");
  });
});

describe("history days", () => {
  const words = { today: "Today", yesterday: "Yesterday" };
  const now = new Date(2026, 11, 6, 9, 30);
  it("names today and yesterday, and other days by date", () => {
    expect(dayLabel(new Date(2026, 11, 6, 0, 5), now, words)).toBe("Today");
    expect(dayLabel(new Date(2026, 11, 5, 23, 59), now, words)).toBe("Yesterday");
    expect(dayLabel(new Date(2026, 11, 1, 12), now, words, "en-GB")).toBe("Tuesday 1 December");
    expect(dayLabel(new Date(2025, 0, 2, 12), now, words, "en-GB")).toContain("2025");
  });
  it("groups calls by day in their order", () => {
    const calls = [new Date(2026, 11, 6, 9), new Date(2026, 11, 6, 8), new Date(2026, 11, 5, 20), new Date(2026, 10, 30, 7)];
    const g = byDay(calls, (d) => d, now, words, "en-GB");
    expect(g.map((x) => [x.label, x.items.length])).toEqual([["Today", 2], ["Yesterday", 1], ["Monday 30 November", 1]]);
  });
});

describe("addresses", () => {
  it("drops your own server's domain and keeps others", () => {
    expect(shortAddress("carol@simu.local", "simu.local")).toBe("carol");
    expect(shortAddress("+255712345678@simu.local", "simu.local")).toBe("+255712345678");
    expect(shortAddress("dan@calls.example", "simu.local")).toBe("dan@calls.example");
    expect(shortAddress("carol@simu.local", undefined)).toBe("carol@simu.local");
  });
});
