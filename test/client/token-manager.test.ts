import { describe, expect, test } from "bun:test";
import { ApiRequestError, TokenManager, tokenExpiry } from "../../src/client/index.ts";
import type { TokenResponse } from "../../src/shared/api.ts";

/** An unsigned JWT-shaped token: the client only reads `exp`, the server verifies. */
function jwt(exp: number, marker = "x"): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${encode({ alg: "HS256", typ: "JWT" })}.${encode({ sub: marker, exp })}.signature`;
}

function response(accessToken: string, refreshToken: string): TokenResponse {
  return {
    access_token: accessToken,
    refresh_token: refreshToken,
    token_type: "Bearer",
    expires_in: 60,
    refresh_expires_in: 3600,
    user: { id: "u", email: "a@b.c", name: "A", role: "agent", organization_id: "o" },
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("tokenExpiry", () => {
  test("reads exp from a JWT and answers null for anything else", () => {
    expect(tokenExpiry(jwt(1_900_000_000))).toBe(1_900_000_000);
    expect(tokenExpiry("not-a-token")).toBeNull();
    expect(tokenExpiry("a.%%%.c")).toBeNull();
  });
});

describe("TokenManager", () => {
  test("refreshes by itself before exp and tells its listeners", async () => {
    let calls = 0;
    const manager = new TokenManager({
      refresher: {
        refresh: async (refreshToken) => {
          calls++;
          expect(refreshToken).toBe("r1");
          return response(jwt(nowSeconds() + 3600, "second"), "r2");
        },
      },
      // Expires in 1 s; the margin is capped at a fifth of the remaining life, so it refreshes at ~0.8 s.
      tokens: { access_token: jwt(nowSeconds() + 1), refresh_token: "r1" },
    });
    const refreshed = new Promise<string>((resolve) => manager.on("refreshed", resolve));
    manager.start();
    const token = await Promise.race([refreshed, Bun.sleep(3000).then(() => "timeout")]);
    manager.stop();
    expect(calls).toBe(1);
    expect(tokenExpiry(token)).toBeGreaterThan(nowSeconds() + 3000);
    expect(manager.refreshToken).toBe("r2");
  });

  test("each refresh presents the refresh token of the previous answer (the server rotates them)", async () => {
    const presented: string[] = [];
    let n = 1;
    const manager = new TokenManager({
      refresher: {
        refresh: async (refreshToken) => {
          presented.push(refreshToken);
          n++;
          return response(jwt(nowSeconds() + 3600, `a${n}`), `r${n}`);
        },
      },
      tokens: { access_token: jwt(nowSeconds() - 10), refresh_token: "r1" },
    });
    await manager.refresh();
    await manager.refresh();
    await manager.refresh();
    expect(presented).toEqual(["r1", "r2", "r3"]);
    expect(manager.refreshToken).toBe("r4");
  });

  test("concurrent refreshes share one request", async () => {
    let calls = 0;
    const manager = new TokenManager({
      refresher: {
        refresh: async () => {
          calls++;
          await Bun.sleep(20);
          return response(jwt(nowSeconds() + 3600), "r2");
        },
      },
      tokens: { access_token: jwt(nowSeconds() - 10), refresh_token: "r1" },
    });
    const [a, b] = await Promise.all([manager.freshToken(), manager.freshToken()]);
    expect(a).toBe(b);
    expect(calls).toBe(1);
  });

  test("a valid token is used as is", async () => {
    const token = jwt(nowSeconds() + 3600);
    const manager = new TokenManager({
      refresher: { refresh: () => Promise.reject(new Error("must not refresh")) },
      tokens: { access_token: token, refresh_token: "r1" },
    });
    expect(await manager.freshToken()).toBe(token);
  });

  test("a refused refresh token ends the session and says so", async () => {
    const manager = new TokenManager({
      refresher: {
        refresh: () => Promise.reject(new ApiRequestError(401, "unauthorized", "refresh token expired")),
      },
      tokens: { access_token: jwt(nowSeconds() - 10), refresh_token: "r1" },
    });
    const expired = new Promise<ApiRequestError>((resolve) => manager.on("expired", resolve));
    await expect(manager.freshToken()).rejects.toBeInstanceOf(ApiRequestError);
    expect((await expired).status).toBe(401);
    expect(manager.sessionExpired).toBe(true);
    await expect(manager.refresh()).rejects.toMatchObject({ code: "session_expired" });
  });
});
