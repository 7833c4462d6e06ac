import { expect, test } from "bun:test";
import {
  HandshakeRequest,
  sharedCopy,
  sharedStringCount,
} from "../../../protocol/engine/handshake-request.ts";

test("a handshake request reads back the URL, address and headers it was given", () => {
  const headers = new Headers({ origin: "http://a.example", "x-two": "b" });
  const request = new HandshakeRequest(
    "http://h/socket.io/?EIO=4&transport=websocket&x=1",
    headers,
    "10.0.0.7",
  );
  expect(request.url).toBe("http://h/socket.io/?EIO=4&transport=websocket&x=1");
  expect(request.remoteAddress).toBe("10.0.0.7");
  expect(request.query.get("x")).toBe("1");
  expect(request.headers.get("origin")).toBe("http://a.example");
  expect(request.headers.get("x-two")).toBe("b");
});

test("shared handshake strings are bounded in number, and long ones are never kept", () => {
  const long = `http://h/socket.io/?EIO=4&transport=websocket&pad=${"p".repeat(300)}`;
  const before = sharedStringCount();
  expect(sharedCopy(long)).toBe(long);
  expect(sharedStringCount()).toBe(before);
  for (let i = 0; i < 5_000; i++)
    expect(sharedCopy(`10.1.${i >> 8}.${i & 255}`)).toBe(`10.1.${i >> 8}.${i & 255}`);
  expect(sharedStringCount()).toBe(4_096);
  // A string already shared is still answered past the bound; a new one is passed through.
  expect(sharedCopy("10.1.0.0")).toBe("10.1.0.0");
  expect(sharedCopy("10.2.0.0")).toBe("10.2.0.0");
  expect(sharedStringCount()).toBe(4_096);
});
