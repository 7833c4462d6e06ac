/** Hand-made JWTs for token-confusion cases: any algorithm (or none), any key, any claims. */
import { SignJWT, UnsecuredJWT } from "jose";
import type { FixtureUser } from "./chat.ts";

export interface CraftOptions {
  /** Signing key; default the suite's secret. */
  secret: string;
  /** HS256 (default), HS384, HS512, or "none" for an unsigned token. */
  alg?: "HS256" | "HS384" | "HS512" | "none";
  type?: "access" | "refresh" | string;
  /** Seconds from now (negative: in the past). Default +600. */
  expIn?: number;
  /** Seconds from now for `nbf`; default none. */
  nbfIn?: number;
  /** Extra or overriding claims. */
  claims?: Record<string, unknown>;
}

export async function craftToken(user: FixtureUser, options: CraftOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    organization_id: user.organizationId,
    role: user.role,
    type: options.type ?? "access",
    ...options.claims,
  };
  const build = <T extends SignJWT | UnsecuredJWT>(jwt: T): T => {
    jwt
      .setSubject(user.id)
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expIn ?? 600));
    if (options.nbfIn !== undefined) jwt.setNotBefore(now + options.nbfIn);
    return jwt;
  };
  if (options.alg === "none") return build(new UnsecuredJWT(claims)).encode();
  return build(new SignJWT(claims))
    .setProtectedHeader({ alg: options.alg ?? "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(options.secret));
}
