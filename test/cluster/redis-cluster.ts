/**
 * A private Redis Cluster of three masters on free loopback ports, started by the suite:
 * `redis-server --cluster-enabled yes` ×3, then `redis-cli --cluster create … --cluster-yes`.
 * Each node's cluster bus uses its port + 10000, so ports are picked with both free.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "./support.ts";

export function hasRedisCluster(): boolean {
  return Bun.which("redis-server") !== null && Bun.which("redis-cli") !== null;
}

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

async function portPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && !(await canConnect(port + 10_000))) return port;
  }
}

export class RedisCluster {
  private constructor(
    readonly ports: number[],
    private readonly children: ChildProcess[],
    private readonly dir: string,
  ) {}

  static async start(): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-redis-cluster-"));
    const ports: number[] = [];
    while (ports.length < 3) {
      const port = await portPair();
      if (!ports.includes(port)) ports.push(port);
    }
    const children = ports.map((port) =>
      spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--dir",
          dir,
          "--save",
          "",
          "--appendonly",
          "no",
        ],
        { stdio: "ignore" },
      ),
    );
    const cluster = new RedisCluster(ports, children, dir);
    try {
      for (const port of ports) await waitFor(`redis node ${port}`, () => canConnect(port), 5000);
      const create = spawnSync(
        "redis-cli",
        [
          "--cluster",
          "create",
          ...ports.map((p) => `127.0.0.1:${p}`),
          "--cluster-replicas",
          "0",
          "--cluster-yes",
        ],
        { encoding: "utf8", timeout: 20_000 },
      );
      if (create.status !== 0)
        throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
      await waitFor(
        "cluster_state:ok on every node",
        () =>
          ports.every((port) =>
            spawnSync("redis-cli", ["-p", String(port), "cluster", "info"], {
              encoding: "utf8",
            }).stdout.includes("cluster_state:ok"),
          ),
        20_000,
      );
    } catch (err) {
      cluster.stop();
      throw err;
    }
    return cluster;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.ports[0]}`;
  }

  stop(): void {
    for (const child of this.children) child.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}
