/** The generator's own parts, fed directly: framing, number parsing, histograms, options, reports. */
import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../scripts/load/cli.ts";
import { encodeFrame, FrameParser, Opcode } from "../../scripts/load/clients/frames.ts";
import { advantage, cell, markdownReport } from "../../scripts/load/report/markdown.ts";
import { svgReport } from "../../scripts/load/report/svg.ts";
import { cpuMsPerMessage } from "../../scripts/load/scenarios/chat.ts";
import { readDecimal } from "../../scripts/load/scenarios/rig.ts";
import { descriptorShortfall, loopbackAddresses } from "../../scripts/load/scenarios/scale.ts";
import type { Metric } from "../../scripts/load/scenarios/types.ts";
import { LatencyHistogram, spread } from "../../scripts/load/stats.ts";
import { ackArgs, encodeConnect, encodeEvent } from "../../scripts/load/wire.ts";

/** An unmasked server frame, as a server writes it. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, len]) : Buffer.alloc(4);
  if (len >= 126) {
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  }
  return Buffer.concat([head, payload]);
}

function collect() {
  const texts: string[] = [];
  const controls: [number, string][] = [];
  const parser = new FrameParser({
    text: (buf, start, end) => texts.push(buf.toString("utf8", start, end)),
    control: (op, payload) => controls.push([op, Buffer.from(payload).toString()]),
  });
  return { parser, texts, controls };
}

describe("the frame parser", () => {
  test("reads several frames from one chunk and a frame split across chunks byte by byte", () => {
    const { parser, texts } = collect();
    const big = "é".repeat(200);
    const stream = Buffer.concat([
      serverFrame(Opcode.Text, Buffer.from('42["m",1]')),
      serverFrame(Opcode.Text, Buffer.from(big)),
      serverFrame(Opcode.Text, Buffer.from("2")),
    ]);
    parser.push(stream.subarray(0, 12));
    for (let i = 12; i < stream.length; i++) parser.push(stream.subarray(i, i + 1));
    expect(texts).toEqual(['42["m",1]', big, "2"]);
  });

  test("joins fragmented text and reports control frames", () => {
    const { parser, texts, controls } = collect();
    parser.push(
      Buffer.concat([
        serverFrame(Opcode.Text, Buffer.from('42["a'), false),
        serverFrame(Opcode.Ping, Buffer.from("hi")),
        serverFrame(Opcode.Continuation, Buffer.from('"]')),
      ]),
    );
    expect(texts).toEqual(['42["a"]']);
    expect(controls).toEqual([[Opcode.Ping, "hi"]]);
  });

  test("refuses a masked server frame", () => {
    const { parser } = collect();
    expect(() => parser.push(Buffer.from([0x81, 0x81, 1, 2, 3, 4, 5]))).toThrow("masked");
  });

  test("encodes masked client frames that unmask to the payload, with 16-bit lengths", () => {
    const mask = new Uint8Array([1, 2, 3, 4]);
    const payload = Buffer.from("x".repeat(300));
    const frame = encodeFrame(Opcode.Text, payload, mask);
    expect(frame[0]).toBe(0x81);
    expect(frame[1]).toBe(0x80 | 126);
    expect(frame.readUInt16BE(2)).toBe(300);
    const body = frame.subarray(8).map((b, i) => b ^ mask[i & 3]!);
    expect(Buffer.from(body).toString()).toBe(payload.toString());
  });
});

describe("the hot-path readers", () => {
  test("readDecimal parses integers and fractions up to the next non-digit", () => {
    const b = Buffer.from('42["m",7,12345.678,"x"]');
    expect(readDecimal(b, 9, b.length)).toBeCloseTo(12345.678, 6);
    expect(readDecimal(Buffer.from("15,"), 0, 3)).toBe(15);
  });

  test("client packets are written as Socket.IO text packets on the main namespace", () => {
    expect(encodeEvent("echo", ["x"])).toBe('42["echo","x"]');
    expect(encodeEvent("join", ["room-1"], 7)).toBe('427["join","room-1"]');
    expect(encodeConnect()).toBe("40");
    expect(encodeConnect({ token: "t" })).toBe('40{"token":"t"}');
    expect(ackArgs('4312[{"ok":true},2]')).toEqual([{ ok: true }, 2]);
  });
});

describe("statistics", () => {
  test("histogram percentiles land within one 10 µs bucket of the exact value", () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 10);
    const s = h.summary();
    expect(s.count).toBe(1000);
    expect(Math.abs(s.p50 - 50)).toBeLessThanOrEqual(0.011);
    expect(Math.abs(s.p99 - 99)).toBeLessThanOrEqual(0.011);
    expect(s.max).toBe(100);
  });

  test("samples beyond the bucketed range keep their exact value in the percentiles", () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 98; i++) h.record(1);
    h.record(30_000);
    h.record(45_000);
    expect(h.percentile(99)).toBe(30_000);
    expect(h.percentile(100)).toBe(45_000);
    expect(h.percentile(50)).toBeCloseTo(1, 1);
  });

  test("spread gives the median and range of repetitions", () => {
    expect(spread([3, 1, 2])).toMatchObject({ median: 2, min: 1, max: 3 });
    expect(spread([4, 1, 2, 3]).median).toBe(2.5);
  });
});

describe("the command line", () => {
  test("--compare selects all four servers and --quick one repetition", () => {
    const o = parseArgs(["--compare", "--quick", "--scenarios", "echo,connect"]);
    expect(o.targets).toEqual(["official", "socketio-bun", "switchboard", "bare-bun"]);
    expect(o.reps).toBe(1);
    expect(o.scenarios).toEqual(["connect", "echo"]);
  });

  test("--target takes a list and keeps the report order", () => {
    expect(parseArgs(["--target", "bare-bun,switchboard"]).targets).toEqual(["switchboard", "bare-bun"]);
    expect(() => parseArgs(["--target", "nope"])).toThrow("unknown target");
  });

  test("unknown scenarios and options are refused", () => {
    expect(() => parseArgs(["--scenarios", "nope"])).toThrow("unknown scenario");
    expect(() => parseArgs(["--fast"])).toThrow("unknown option");
  });
});

describe("the scale scenario's address plan", () => {
  test("spreads connections over as many loopback addresses as the port range requires", () => {
    expect(loopbackAddresses(1_000, 25_000)).toEqual(["127.0.0.1"]);
    expect(loopbackAddresses(100_000, 25_000)).toEqual(["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    expect(loopbackAddresses(100_001, 25_000)).toHaveLength(5);
    expect(() => loopbackAddresses(255 * 1_000, 1_000)).toThrow("254 loopback addresses");
  });

  test("refuses a count the open-file limits of either side cannot hold, naming the short side", () => {
    expect(descriptorShortfall(10_000, { generator: 20_000, server: 20_000 })).toBeNull();
    const why = descriptorShortfall(50_000, { generator: 20_000, server: 262_144 });
    expect(why).toContain("50,000 connections need 50,500 open files");
    expect(why).toContain("20,000 (generator)");
    expect(why).not.toContain("(server)");
  });
});

describe("the chat scenario's figures", () => {
  test("server CPU per message is the CPU share of a core divided by the message rate", () => {
    // Half a core at 200 messages/s: 2.5 ms of CPU per message.
    expect(cpuMsPerMessage(50, 200)).toBe(2.5);
    expect(cpuMsPerMessage(48.8, 200)).toBe(2.44);
    expect(cpuMsPerMessage(10, 0)).toBeNaN();
  });
});

describe("the reports", () => {
  const m = (value: number, better: "higher" | "lower", extra: Partial<Metric> = {}): Metric => ({
    scenario: "echo",
    key: "echo.k8.acks",
    label: "acks",
    unit: "acks/s",
    better,
    value,
    ...extra,
  });

  test("advantage is above 1 when Switchboard is better, whichever direction the figure has", () => {
    expect(advantage(m(300, "higher"), m(100, "higher"))).toBe(3);
    expect(advantage(m(10, "lower"), m(40, "lower"))).toBe(4);
  });

  test("a generator-bound throughput is shown as a lower bound with its range", () => {
    expect(cell(m(1234, "higher", { generatorBound: true, range: [1000, 1500] }))).toBe(
      "≥ 1,234 (1,000–1,500) †",
    );
  });

  test("the markdown table pairs the servers and checks the issue's target", () => {
    const info = {
      runId: "r",
      date: "d",
      command: "bun scripts/load --compare",
      machine: { cores: 2, model: "cpu", kernel: "k", memGiB: 1 },
      loadAverage: { start: 0.1 },
      versions: { bun: "1", node: "20", socketio: "4.8.4", bunEngine: "0.1.2", switchboard: "abc" },
      pinning: { server: 0, generator: 1, generatorPinned: true },
      quick: false,
      reps: 3,
    };
    const md = markdownReport(info, [
      { target: "switchboard", metrics: [m(90_000, "higher")], errors: [] },
      { target: "official", metrics: [m(20_000, "higher")], errors: [] },
    ]);
    expect(md).toContain("| echo | acks | acks/s | 90,000 | 20,000 | 4.5× | ≥ 3×: met |");
    const all = markdownReport(info, [
      { target: "official", metrics: [m(20_000, "higher")], errors: [] },
      { target: "socketio-bun", metrics: [m(40_000, "higher")], errors: [] },
      { target: "switchboard", metrics: [m(90_000, "higher")], errors: [] },
      { target: "bare-bun", metrics: [m(120_000, "higher")], errors: [] },
    ]);
    expect(all).toContain(
      "| scenario | figure | unit | official | socketio-bun | switchboard | bare-bun | × official | × socket.io+bun-engine | × bare Bun (floor) | target |",
    );
    expect(all).toContain(
      "| echo | acks | acks/s | 20,000 | 40,000 | 90,000 | 120,000 | 4.5× | 2.25× | 0.75× | ≥ 3×: met |",
    );
    const unmeasured = markdownReport(info, [
      {
        target: "switchboard",
        metrics: [{ ...m(Number.NaN, "lower"), key: "scale.100000.rss" }],
        errors: [],
      },
      { target: "official", metrics: [], errors: [] },
    ]);
    expect(unmeasured).toContain("| – | – | – | ≤ 4 KiB: not measured |");
  });

  test("the SVG draws the panels of the scenarios it has data for, with the series it is given", () => {
    const svg = svgReport(
      [
        {
          scenario: "fanout",
          kind: "step",
          target: "official",
          deliveriesPerSec: 1000,
          latency: { p50: 1, p99: 5 },
        },
        {
          scenario: "fanout",
          kind: "step",
          target: "official",
          deliveriesPerSec: 2000,
          latency: { p50: 2, p99: 80 },
        },
      ],
      "t",
    );
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("official p99");
    expect((svg.match(/<path /g) ?? []).length).toBe(2);
    expect(svg).toContain("fanout: latency by offered rate");
    expect(svg).not.toContain("polling:");
    expect(svg).not.toContain("scale:");
    expect(svgReport([], "t")).toContain("no data");
  });

  test("a run with the scale scenario adds the scaling curve's three panels, one line per target", () => {
    const run = (target: string, count: number) => ({
      scenario: "scale" as const,
      kind: "run",
      target,
      count,
      rssPerConnKb: 3,
      connectsPerSec: 5000,
      lastReceiverP99: count / 100,
      delivery: { p50: count / 200 },
    });
    const svg = svgReport([run("switchboard", 1000), run("switchboard", 10000), run("bare-bun", 1000)], "t");
    for (const title of [
      "scale: server RSS per idle connection",
      "scale: connects/s",
      "scale: broadcast to all",
    ])
      expect(svg).toContain(title);
    expect(svg).toContain("bare-bun p99 to last");
    // RSS and connects/s: one line per target; latency: p99-to-last and p50 per target.
    expect((svg.match(/<path /g) ?? []).length).toBe(2 + 2 + 4);
  });
});
