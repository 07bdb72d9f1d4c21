import { describe, expect, it } from "vitest";
import { bitrate, duration, grade, lossFraction, lossRates, measured } from "./format";

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
