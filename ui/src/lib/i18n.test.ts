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
});
