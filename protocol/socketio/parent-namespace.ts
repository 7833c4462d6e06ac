/**
 * A dynamic namespace pattern (`io.of(/^\/team-\d+$/)` or `io.of((name, auth, next) => ...)`): its
 * middlewares and connection listeners are copied onto each child namespace created on demand, and
 * a broadcast on the parent reaches every child.
 */
import { Adapter } from "../adapter/adapter.ts";
import type { BroadcastOptions, Packet } from "../adapter/types.ts";
import { createLogger } from "../logger.ts";
import { runHook } from "../user-hooks.ts";
import { Namespace } from "./namespace.ts";
import type { DefaultEventsMap, EventsMap } from "./typed-events.ts";

/**
 * Decides whether `name` is served: `next(null, true)` accepts. May be async: a throw or a rejection
 * is logged and refuses the name.
 */
export type NamespaceMatcher = (
  name: string,
  auth: Record<string, unknown>,
  next: (err: Error | null, allow: boolean) => void,
) => void | Promise<void>;

/** Broadcasts on a parent go to each child's own adapter, which encodes for its namespace. */
class ParentBroadcastAdapter extends Adapter {
  override broadcast(packet: Packet, opts: BroadcastOptions): void {
    const parent = this.nsp as unknown as ParentNamespace;
    for (const child of parent.children) {
      child.adapter.broadcast(
        { ...packet, data: Array.isArray(packet.data) ? [...packet.data] : packet.data },
        opts,
      );
    }
  }
}

const log = createLogger("socketio");

let parentCount = 0;

export class ParentNamespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = unknown,
> extends Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  readonly children = new Set<Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();

  constructor(server: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>["server"]) {
    super(server, `/_${parentCount++}`);
    this.adapter = new ParentBroadcastAdapter(this as never);
  }

  /** @internal Create the child namespace `name`, inheriting middlewares and connection listeners. */
  createChild(name: string): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    const child = new Namespace(this.server, name);
    child._fns = [...this._fns];
    for (const event of ["connect", "connection"] as const) {
      for (const listener of this.listeners(event)) child.on(event, listener as never);
    }
    this.children.add(child);
    if (this.server.opts.cleanupEmptyChildNamespaces) {
      child._onEmpty = () => {
        // Once: a socket still in a middleware may be refused or leave after the child is gone.
        child._onEmpty = undefined;
        runHook(log, "adapter close failed", { nsp: name }, () => child.adapter.close());
        this.server._nsps.delete(name);
        this.children.delete(child);
      };
    }
    this.server._nsps.set(name, child);
    this.server.sockets.emitNewNamespace(child);
    return child;
  }

  override fetchSockets(): Promise<never> {
    return Promise.reject(new Error("fetchSockets() is not supported on parent namespaces"));
  }
}
