/**
 * The fan-out rig shared by the `fanout` and `polling` scenarios: R rooms of K members (websocket
 * or polling receivers) and one websocket publisher per room that is not a member. Publishing is
 * open loop: message i is due at t0 + i/rate whatever happened before, it carries that intended
 * time, and latency is measured from it, so a stalled server (or generator) shows up as latency
 * instead of silently slowing the publisher down (no coordinated omission).
 *
 * Wire shape, identical on both servers: publisher → `42["pub","<room>",<step>,<t>,"<pad>"]`,
 * server → members `42["m",<step>,<t>,"<pad>"]`.
 */
import type { LoadClient, TransportName } from "../clients/client.ts";
import { PollingClient } from "../clients/polling.ts";
import { WsClient } from "../clients/ws.ts";
import { CpuMeter, readCpuSplit } from "../proc.ts";
import { LatencyHistogram, type LatencySummary, round } from "../stats.ts";
import { closeClients, openClients, waitUntil } from "./pool.ts";
import { GENERATOR_SATURATED_PERCENT } from "./types.ts";

/** Offset of the step number in `42["m",<step>,...`. */
const STEP_OFFSET = '42["m",'.length;
/** Handshakes in flight while the rig is built. */
const OPEN_WINDOW = 100;
/** Publisher ticks: how often the open-loop scheduler wakes to send what is due. */
const TICK_MS = 1;
/** Once publishing stops, how long missing deliveries are awaited before they count as lost. */
const DRAIN_MS = 3_000;
/** Quiet period (no stray deliveries of earlier steps) required before a new step starts. */
const QUIET_MS = 300;
const QUIET_TIMEOUT_MS = 10_000;
/** Half the resolution of the due times written in payloads (`toFixed(3)`, ms). */
export const HALF_ROUNDING_MS = 0.0005;

const COMMA = 44;
const DOT = 46;
const DIGIT_0 = 48;

/** Parse the unsigned decimal (`123.456`) at `buf[at]`, up to the next non-digit. */
export function readDecimal(buf: Uint8Array, at: number, end: number): number {
  let whole = 0;
  for (; at < end; at++) {
    const c = buf[at]!;
    if (c === DOT) break;
    if (c < DIGIT_0 || c > DIGIT_0 + 9) return whole;
    whole = whole * 10 + (c - DIGIT_0);
  }
  let frac = 0;
  let scale = 1;
  for (at++; at < end; at++) {
    const c = buf[at]!;
    if (c < DIGIT_0 || c > DIGIT_0 + 9) break;
    frac = frac * 10 + (c - DIGIT_0);
    scale *= 10;
  }
  return whole + frac / scale;
}

export interface RigOptions {
  baseUrl: string;
  rooms: number;
  members: number;
  transport: TransportName;
  onProgress?: (text: string) => void;
}

export interface StepOptions {
  /** Offered deliveries per second (messages/s × members per room). */
  deliveriesPerSec: number;
  warmupMs: number;
  measureMs: number;
  payloadBytes: number;
  serverPid: number;
}

export interface StepResult {
  deliveriesPerSec: number;
  messagesPerSec: number;
  /** Deliveries of messages due inside the measured window, per second of that window. */
  deliveredPerSec: number;
  latency: LatencySummary;
  /** Deliveries never received within the drain time. */
  lost: number;
  expected: number;
  /** Deliveries of this step received (more than `expected` would mean duplicates or leaks). */
  received: number;
  serverCpu: number;
  generatorCpu: number;
  generatorBound: boolean;
  /** Percent of the window the server / generator main thread waited for a CPU (other work). */
  serverWait: number;
  generatorWait: number;
  /**
   * Server CPU per delivery over the whole step (publishing and drain), in µs: the efficiency
   * figure that other work on the machine distorts least (a starved server falls behind, but
   * each delivery still costs what it costs).
   */
  serverUsPerDelivery: number;
  /**
   * The same split into user space (the server's own code) and kernel. On loopback the kernel part
   * includes TCP receive work done for the clients, which a real network would put elsewhere.
   */
  serverUserUsPerDelivery: number;
  serverSysUsPerDelivery: number;
  /** The scheduler fell behind the open-loop schedule (ms at the worst tick). */
  publisherLagMs: number;
}

/** Mutable state of the step in progress, read by every receiver's handler. */
interface StepState {
  step: number;
  measureFrom: number;
  measureTo: number;
  received: number;
  measured: number;
  stray: number;
  lastStrayAt: number;
  hist: LatencyHistogram;
}

export class FanoutRig {
  private readonly rooms: string[];
  private receivers: LoadClient[] = [];
  private publishers: WsClient[] = [];
  private nextStep = 1;
  private closedUnexpectedly = 0;
  private readonly state: StepState = {
    step: 0,
    measureFrom: 0,
    measureTo: 0,
    received: 0,
    measured: 0,
    stray: 0,
    lastStrayAt: 0,
    hist: new LatencyHistogram(),
  };

  constructor(private readonly options: RigOptions) {
    this.rooms = Array.from({ length: options.rooms }, (_, i) => `room-${i}`);
  }

  /** Clients that dropped during the run (a server that disconnects slow clients shows here). */
  get disconnects(): number {
    return this.closedUnexpectedly;
  }

  /** Deliveries received so far for the last step, including any that arrived after it returned. */
  get receivedInLastStep(): number {
    return this.state.received;
  }

  async open(): Promise<void> {
    const { baseUrl, rooms, members, transport, onProgress } = this.options;
    const total = rooms * members;
    const make = () => (transport === "polling" ? new PollingClient({ baseUrl }) : new WsClient({ baseUrl }));
    const opened = await openClients(total, OPEN_WINDOW, make, (n) => {
      if (n % 100 === 0) onProgress?.(`${n}/${total} ${transport} receivers connected`);
    });
    this.receivers = opened.clients;
    if (opened.failures.length > 0) {
      throw new Error(
        `${opened.failures.length}/${total} receivers failed to connect: ${opened.failures[0]}`,
      );
    }
    const state = this.state;
    const onEvent = (raw: string) => {
      const a = raw.indexOf(",", STEP_OFFSET);
      if (Number(raw.slice(STEP_OFFSET, a)) !== state.step) {
        state.stray++;
        state.lastStrayAt = performance.now();
        return;
      }
      state.received++;
      const t = Number(raw.slice(a + 1, raw.indexOf(",", a + 1)));
      if (t >= state.measureFrom && t < state.measureTo) {
        state.measured++;
        state.hist.record(performance.now() - t);
      }
    };
    const onEventBytes = (buf: Buffer, start: number, end: number) => {
      let at = start + STEP_OFFSET;
      let step = 0;
      for (let c = buf[at]!; c !== COMMA && at < end; c = buf[++at]!) step = step * 10 + (c - DIGIT_0);
      if (step !== state.step) {
        state.stray++;
        state.lastStrayAt = performance.now();
        return;
      }
      state.received++;
      const t = readDecimal(buf, at + 1, end);
      if (t >= state.measureFrom && t < state.measureTo) {
        state.measured++;
        state.hist.record(performance.now() - t);
      }
    };
    // Joins are acknowledged, so every member is in its room before the first publish.
    let joined = 0;
    const joins = this.receivers.map(async (client, i) => {
      client.onEvent = onEvent;
      if (client instanceof WsClient) client.onEventBytes = onEventBytes;
      client.onClose = () => this.closedUnexpectedly++;
      await client.emitWithAck("join", [this.rooms[i % rooms]], 15_000);
      if (++joined % 100 === 0) onProgress?.(`${joined}/${total} receivers joined`);
    });
    await Promise.all(joins);
    const pubs = await openClients(rooms, OPEN_WINDOW, () => new WsClient({ baseUrl }));
    if (pubs.failures.length > 0) throw new Error(`publishers failed to connect: ${pubs.failures[0]}`);
    this.publishers = pubs.clients as WsClient[];
  }

  /** Run one open-loop step at a fixed offered rate and measure its window. */
  async step(options: StepOptions): Promise<StepResult> {
    await this.waitQuiet();
    const { rooms, members } = this.options;
    const state = this.state;
    const step = this.nextStep++;
    const messagesPerSec = options.deliveriesPerSec / members;
    const intervalMs = 1000 / messagesPerSec;
    const pad = "x".repeat(options.payloadBytes);
    const publishers = this.publishers;
    const packetHead = this.rooms.map((room) => `42["pub","${room}",${step},`);
    const packetTail = `,"${pad}"]`;

    const t0 = performance.now() + 5;
    const total = Math.max(1, Math.floor(((options.warmupMs + options.measureMs) / 1000) * messagesPerSec));
    state.hist = new LatencyHistogram();
    state.step = step;
    state.received = 0;
    state.measured = 0;
    // Payloads carry the due time to 3 decimals: shift the window's edges by half of that rounding so a
    // message due exactly on an edge is counted on the side its unrounded time is.
    state.measureFrom = t0 + options.warmupMs - HALF_ROUNDING_MS;
    state.measureTo = t0 + options.warmupMs + options.measureMs - HALF_ROUNDING_MS;

    const server = CpuMeter.forPid(options.serverPid);
    const self = CpuMeter.self();
    const whole = CpuMeter.forPid(options.serverPid);
    whole.start();
    const split0 = readCpuSplit(options.serverPid);
    let metering = false;
    let serverCpu = 0;
    let generatorCpu = 0;
    let sent = 0;
    let maxLag = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        if (!metering && now >= state.measureFrom + HALF_ROUNDING_MS) {
          metering = true;
          server.start();
          self.start();
        }
        const firstDue = t0 + sent * intervalMs;
        if (now - firstDue > maxLag) maxLag = now - firstDue;
        while (sent < total) {
          const due = t0 + sent * intervalMs;
          if (due > now) break;
          const r = sent % rooms;
          publishers[r]!.send(packetHead[r]! + due.toFixed(3) + packetTail);
          sent++;
        }
        if (sent >= total) {
          clearInterval(timer);
          serverCpu = metering ? server.stop() : 0;
          generatorCpu = metering ? self.stop() : 0;
          resolve();
        }
      }, TICK_MS);
    });
    const expected = total * members;
    await waitUntil(() => state.received >= expected, DRAIN_MS);
    whole.stop();
    const split1 = readCpuSplit(options.serverPid);
    const perDelivery = (seconds: number) =>
      state.received > 0 ? round((seconds * 1e6) / state.received, 2) : 0;
    const latency = state.hist.summary();
    return {
      deliveriesPerSec: options.deliveriesPerSec,
      messagesPerSec: round(messagesPerSec, 1),
      deliveredPerSec: Math.round(state.measured / (options.measureMs / 1000)),
      latency,
      lost: Math.max(0, expected - state.received),
      expected,
      received: state.received,
      serverCpu: round(serverCpu, 1),
      generatorCpu: round(generatorCpu, 1),
      generatorBound: generatorCpu > GENERATOR_SATURATED_PERCENT,
      serverWait: round(server.waitPercent, 1),
      generatorWait: round(self.waitPercent, 1),
      serverUsPerDelivery: perDelivery(whole.cpuSeconds),
      serverUserUsPerDelivery: perDelivery(split1.user - split0.user),
      serverSysUsPerDelivery: perDelivery(split1.system - split0.system),
      publisherLagMs: round(Math.max(0, maxLag - TICK_MS), 2),
    };
  }

  /** Wait until deliveries of earlier steps stopped trickling in (bounded). */
  private async waitQuiet(): Promise<void> {
    const state = this.state;
    state.step = -1;
    state.lastStrayAt = performance.now();
    await waitUntil(() => performance.now() - state.lastStrayAt >= QUIET_MS, QUIET_TIMEOUT_MS);
  }

  async close(): Promise<void> {
    for (const c of this.receivers) c.onClose = null;
    await closeClients([...this.receivers, ...this.publishers]);
  }
}
