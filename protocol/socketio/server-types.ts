/** Erased-generic aliases for internal plumbing that serves any event typing. */
import type { Namespace } from "./namespace.ts";
import type { Server } from "./server.ts";
import type { Socket } from "./socket.ts";

// biome-ignore lint/suspicious/noExplicitAny: internal code handles every event typing
export type AnyServer = Server<any, any, any, any>;
// biome-ignore lint/suspicious/noExplicitAny: internal code handles every event typing
export type AnyNamespace = Namespace<any, any, any, any>;
// biome-ignore lint/suspicious/noExplicitAny: internal code handles every event typing
export type AnySocket = Socket<any, any, any, any>;
