/**
 * The verified-token cache of TokenService (src/auth/tokens.ts): a token verified once is not
 * checked by HMAC again, but the verdict stays the one a full verification would give.
 */
import { describe, expect, test } from "bun:test";
import { TokenError, TokenService } from "../../src/auth/tokens.ts";

const subject = {
  id: "00000000-0000-4000-8000-000000000001",
  organization_id: "00000000-0000-4000-8000-000000000002",
  role: "agent" as const,
};

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "accepted";
  } catch (err) {
    return err instanceof TokenError ? err.code : String(err);
  }
};

describe("verified-token cache", () => {
  test("a token verified once is refused as expired once its exp has passed", async () => {
    const tokens = new TokenService({ secret: "x".repeat(32) });
    const token = await tokens.sign(subject, "access", 1);
    const claims = await tokens.verify(token, "access");
    expect(await codeOf(tokens.verify(token, "access"))).toBe("accepted");
    while (Math.floor(Date.now() / 1000) < claims.exp) await Bun.sleep(100);
    expect(await codeOf(tokens.verify(token, "access"))).toBe("token_expired");
  });

  test("a cached access token is still refused where a refresh token is expected", async () => {
    const tokens = new TokenService({ secret: "x".repeat(32) });
    const token = await tokens.sign(subject, "access");
    await tokens.verify(token, "access");
    expect(await codeOf(tokens.verify(token, "refresh"))).toBe("wrong_token_type");
  });

  test("a changed token is verified in full: its cached original does not vouch for it", async () => {
    const tokens = new TokenService({ secret: "x".repeat(32) });
    const token = await tokens.sign(subject, "access");
    await tokens.verify(token, "access");
    const [header, payload, signature] = token.split(".");
    const forged = `${header}.${payload}.${signature!.slice(0, -2)}${signature!.endsWith("AA") ? "BB" : "AA"}`;
    expect(await codeOf(tokens.verify(forged, "access"))).toBe("invalid_signature");
  });

  test("callers may change the claims they get without changing the cache", async () => {
    const tokens = new TokenService({ secret: "x".repeat(32) });
    const token = await tokens.sign(subject, "access");
    const first = await tokens.verify(token, "access");
    first.role = "org_admin";
    expect((await tokens.verify(token, "access")).role).toBe("agent");
  });
});
