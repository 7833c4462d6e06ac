/**
 * A tiny TCP balancer with failover, standing in for the production load balancer (nginx with
 * backup servers, an L4 balancer): each incoming connection goes to the first upstream that
 * accepts it, in the order given. A client whose node dies reconnects through the same address
 * and lands on the next live node; a restarted node is preferred again for new connections.
 * Raw bytes are relayed both ways, so HTTP, long polls and websockets all pass unchanged.
 */
import type { Socket, TCPSocketListener } from "bun";

const HOST = "127.0.0.1";

/** Bytes waiting for a socket to drain; written in order. */
class Outbox {
  private readonly queue: Uint8Array[] = [];
  target: Socket<unknown> | null = null;

  push(data: Uint8Array): void {
    // Copied: the runtime may reuse the buffer it handed to the data callback.
    this.queue.push(new Uint8Array(data));
    this.flush();
  }

  flush(): void {
    const target = this.target;
    if (!target) return;
    while (this.queue.length > 0) {
      const head = this.queue[0] as Uint8Array;
      const written = target.write(head);
      if (written < head.length) {
        this.queue[0] = head.subarray(Math.max(written, 0));
        return;
      }
      this.queue.shift();
    }
  }
}

interface Link {
  /** Bytes from the client, towards the upstream. */
  up: Outbox;
  /** Bytes from the upstream, towards the client. */
  down: Outbox;
  upstream: Socket<unknown> | null;
  closed: boolean;
}

export interface FailoverProxy {
  /** http://127.0.0.1:<port> of the proxy. */
  url: string;
  /** Closes the listener and every relayed connection. */
  stop(): void;
}

/** Listens on a free port and relays each connection to the first of `upstreamPorts` that accepts it. */
export function startFailoverProxy(upstreamPorts: readonly number[]): FailoverProxy {
  const links = new Set<Link>();

  const close = (client: Socket<Link>, link: Link): void => {
    if (link.closed) return;
    link.closed = true;
    links.delete(link);
    link.upstream?.end();
    client.end();
  };

  const dial = (client: Socket<Link>, link: Link, index: number): void => {
    const port = upstreamPorts[index];
    if (port === undefined || link.closed) {
      close(client, link);
      return;
    }
    let failed = false;
    const next = (): void => {
      if (failed) return;
      failed = true;
      dial(client, link, index + 1);
    };
    Bun.connect({
      hostname: HOST,
      port,
      socket: {
        open(upstream) {
          if (link.closed) {
            upstream.end();
            return;
          }
          link.upstream = upstream;
          link.up.target = upstream;
          link.up.flush();
        },
        data(_upstream, data) {
          link.down.push(data);
        },
        drain() {
          link.up.flush();
        },
        close() {
          if (link.upstream) close(client, link);
        },
        error() {
          if (link.upstream) close(client, link);
        },
        connectError: next,
      },
    }).catch(next);
  };

  const listener: TCPSocketListener<Link> = Bun.listen<Link>({
    hostname: HOST,
    port: 0,
    socket: {
      open(client) {
        const link: Link = { up: new Outbox(), down: new Outbox(), upstream: null, closed: false };
        link.down.target = client;
        client.data = link;
        links.add(link);
        dial(client, link, 0);
      },
      data(client, data) {
        client.data.up.push(data);
      },
      drain(client) {
        client.data.down.flush();
      },
      close(client) {
        close(client, client.data);
      },
      error(client) {
        close(client, client.data);
      },
    },
  });

  return {
    url: `http://${HOST}:${listener.port}`,
    stop() {
      listener.stop(true);
      for (const link of links) {
        link.closed = true;
        link.upstream?.end();
        link.down.target?.end();
      }
      links.clear();
    },
  };
}
