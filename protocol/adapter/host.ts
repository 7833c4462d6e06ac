/**
 * What an adapter sees of the Socket.IO layer. Type-only: the adapter reaches sockets through the
 * namespace it serves, as socket.io-adapter does.
 */
import type { Namespace } from "../socketio/namespace.ts";
import type { Socket } from "../socketio/socket.ts";

// biome-ignore lint/suspicious/noExplicitAny: an adapter serves namespaces of any event typing
export type AnyNamespace = Namespace<any, any, any, any>;
// biome-ignore lint/suspicious/noExplicitAny: an adapter serves sockets of any event typing
export type AnySocket = Socket<any, any, any, any>;
