/**
 * Compile-time test of the typed API: `tsc --noEmit` (part of CI) fails if a wrong payload below
 * stops being an error (each `@ts-expect-error` must meet one) or a right one becomes one. Never run.
 */
import type { Server } from "../../../protocol/index.ts";

interface ClientToServer {
  hello: (name: string) => void;
  sum: (a: number, b: number, ack: (total: number) => void) => void;
}
interface ServerToClient {
  welcome: (message: string) => void;
  question: (q: string, ack: (answer: number) => void) => void;
}
interface InterServer {
  ping: (n: number) => void;
}
interface Data {
  user: string;
}

export function typedServer(io: Server<ClientToServer, ServerToClient, InterServer, Data>): void {
  io.on("connection", (socket) => {
    socket.on("hello", (name) => {
      const text: string = name;
      void text;
    });
    // @ts-expect-error the listener's payload type is wrong
    socket.on("hello", (_name: number) => {});
    socket.on("sum", (a, b, ack) => ack(a + b));
    // @ts-expect-error the ack answers a number
    socket.on("sum", (_a, _b, ack) => ack("x"));
    socket.on("disconnect", (reason) => {
      const why: string = reason;
      void why;
    });

    socket.emit("welcome", "hi");
    // @ts-expect-error wrong payload
    socket.emit("welcome", 1);
    // @ts-expect-error unknown event
    socket.emit("nope");
    socket.emit("question", "q", (answer) => {
      const n: number = answer;
      void n;
    });
    socket.timeout(10).emit("question", "q", (err, answer) => {
      const e: Error = err;
      const n: number = answer;
      void [e, n];
    });
    const one: Promise<number> = socket.timeout(10).emitWithAck("question", "q");
    // @ts-expect-error "welcome" takes no ack
    socket.emitWithAck("welcome");
    void one;

    socket.to("room").emit("welcome", "x");
    // @ts-expect-error wrong payload in a broadcast
    socket.to("room").emit("welcome", 2);
    const user: string = socket.data.user;
    void user;
  });

  io.to("room").except("other").emit("welcome", "x");
  // @ts-expect-error wrong payload in a broadcast
  io.to("room").emit("welcome", 2);
  io.timeout(10).emit("question", "q", (err, answers) => {
    const e: Error = err;
    const all: number[] = answers;
    void [e, all];
  });
  const all: Promise<number[]> = io.timeout(10).emitWithAck("question", "q");
  void all;

  io.serverSideEmit("ping", 1);
  // @ts-expect-error wrong inter-server payload
  io.serverSideEmit("ping", "x");
  io.of("/admin").on("connection", (socket) => {
    socket.emit("welcome", "admin");
  });
}
