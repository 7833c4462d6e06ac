/** docs/administration.md stays true to the code: every CLI command, refusal code and disconnect reason. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { USAGE } from "../../scripts/users.ts";
import { SESSION_END_MESSAGES } from "../../src/realtime/user-sessions.ts";
import { USER_ADMIN_ERRORS } from "../../src/services/user-admin.ts";
import { API_PATHS } from "../../src/shared/api.ts";

const doc = readFileSync(join(import.meta.dir, "..", "..", "docs", "administration.md"), "utf8");

describe("docs/administration.md", () => {
  test("documents every command of the CLI's usage", () => {
    const commands = [...USAGE.matchAll(/^ {2}([a-z][a-z-]+)/gm)].map((m) => m[1]!);
    expect(commands.length).toBeGreaterThanOrEqual(8);
    for (const command of commands) expect(doc).toContain(`\`${command}`);
  });

  test("documents every refusal code of user administration", () => {
    for (const code of Object.values(USER_ADMIN_ERRORS)) expect(doc).toContain(`\`${code}\``);
  });

  test("documents every reason a live socket is closed for, and the reuse refusal", () => {
    for (const reason of Object.keys(SESSION_END_MESSAGES)) expect(doc).toContain(`\`${reason}\``);
    expect(doc).toContain("`refresh_token_reused`");
  });

  test("documents the endpoints", () => {
    for (const path of [
      API_PATHS.users,
      API_PATHS.logout,
      API_PATHS.password,
      "/api/v1/users/:id",
      "/api/v1/users/:id/password",
    ])
      expect(doc).toContain(path);
  });
});
