import { describe, expect, test } from "bun:test";
import { ApiClient, ApiRequestError } from "../../src/client/index.ts";

/** A fake fetch that records requests and answers from a table. */
function fakeFetch(answer: (url: URL, init: RequestInit) => Response) {
  const calls: { url: URL; init: RequestInit }[] = [];
  const fetch = async (url: URL, init: RequestInit) => {
    calls.push({ url, init });
    return answer(url, init);
  };
  return { calls, fetch };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

describe("ApiClient", () => {
  test("authenticated calls carry the bearer token and the query", async () => {
    const { calls, fetch } = fakeFetch(() => json(200, { data: [], next_cursor: null, order: "asc" }));
    const api = new ApiClient({ baseUrl: "http://api.test/", accessToken: () => "tok", fetch });
    await api.listMessages("c1", { after: 7, limit: 10 });
    expect(calls[0]!.url.toString()).toBe(
      "http://api.test/api/v1/conversations/c1/messages?after=7&limit=10",
    );
    expect((calls[0]!.init.headers as Record<string, string>).authorization).toBe("Bearer tok");
  });

  test("login and refresh are sent without a bearer token", async () => {
    const { calls, fetch } = fakeFetch(() => json(200, { access_token: "a", refresh_token: "r" }));
    const api = new ApiClient({ baseUrl: "http://api.test", accessToken: () => "tok", fetch });
    await api.login("a@b.c", "pw");
    expect((calls[0]!.init.headers as Record<string, string>).authorization).toBeUndefined();
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual({ email: "a@b.c", password: "pw" });
  });

  test("an error answer becomes an ApiRequestError with the server's code and field", async () => {
    const { fetch } = fakeFetch(() =>
      json(400, {
        error: { code: "validation_error", message: "content.text is required", field: "content.text" },
      }),
    );
    const api = new ApiClient({ baseUrl: "http://api.test", fetch });
    const error = (await api.sendText("c1", "").catch((e) => e)) as ApiRequestError;
    expect(error).toBeInstanceOf(ApiRequestError);
    expect([error.status, error.code, error.field]).toEqual([400, "validation_error", "content.text"]);
  });

  test("a network failure is an ApiRequestError with status 0", async () => {
    const api = new ApiClient({
      baseUrl: "http://api.test",
      fetch: () => Promise.reject(new TypeError("connection refused")),
    });
    const error = (await api.me().catch((e) => e)) as ApiRequestError;
    expect([error.status, error.code]).toEqual([0, "network_error"]);
  });

  test("messagesAfter follows next_cursor to the end", async () => {
    const pages: Record<string, unknown> = {
      "0": { data: [{ seq: 1 }, { seq: 2 }], next_cursor: "2", order: "asc" },
      "2": { data: [{ seq: 3 }], next_cursor: null, order: "asc" },
    };
    const { calls, fetch } = fakeFetch((url) => json(200, pages[url.searchParams.get("after") ?? ""]));
    const api = new ApiClient({ baseUrl: "http://api.test", fetch });
    const messages = await api.messagesAfter("c1", 0, 2);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(calls).toHaveLength(2);
  });
});
