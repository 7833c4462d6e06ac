/** Adapters: the in-memory ones and the shapes a cluster adapter shares with them. */
/** The default adapter, under the name socket.io users know. */
export { Adapter, Adapter as InMemoryAdapter, type WriteOptions } from "./adapter.ts";
export type { HostClient, HostNamespace, HostServer, HostSocket, PacketEncoder } from "./host.ts";
export { SessionAwareAdapter } from "./session-aware.ts";
export { namespaceTopic, roomTopic } from "./topics.ts";
export type * from "./types.ts";
