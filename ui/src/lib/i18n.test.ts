import { describe, expect, it } from "vitest";
import { pick } from "./i18n";

describe("languages", () => {
  it("speaks Swahili to sw users and English otherwise", () => {
    expect(pick("sw-TZ").hangUp).toBe("Kata simu");
    expect(pick("en-GB").hangUp).toBe("Hang up");
    expect(pick("fr").signIn).toBe("Sign in");
  });
  it("has every English string in Swahili", () => {
    const en = pick("en");
    const sw = pick("sw");
    for (const k of Object.keys(en)) expect((sw as Record<string, string>)[k], k).toBeTruthy();
  });
  it("has no Swahili string that English lacks", () => {
    const en = pick("en") as Record<string, string>;
    for (const k of Object.keys(pick("sw"))) expect(en[k], k).toBeTruthy();
  });
});
