/** Types of apps/socketio-app.cjs for the Bun target (socketio-bun.ts). */
import type { Server } from "socket.io";

export declare function attachBenchmarkApp(io: Server): void;
