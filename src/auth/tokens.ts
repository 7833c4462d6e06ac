/**
 * Access and refresh JWTs (jose, HMAC). An access token authenticates REST calls and socket
 * handshakes; a refresh token only buys a new pair at POST /api/v1/auth/refresh. The `type` claim
 * keeps one from being used as the other. Verification failures carry the stable codes of
 * ERROR_CODES so the handshake and the REST layer can tell the client what to do.
 */
import { randomUUID } from "node:crypto";
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from "jose";
import type { JwtAlgorithm } from "../config.ts";
import { ERROR_CODES, type ErrorCode, USER_ROLES, type UserRole, type Uuid } from "../shared/events.ts";
import { UUID_RE } from "../shared/uuid.ts";

export type TokenType = "access" | "refresh";

export interface TokenClaims {
  sub: Uuid;
  organization_id: Uuid;
  role: UserRole;
  type: TokenType;
  /** Expiry, seconds since epoch. */
  exp: number;
  iat: number;
  /**
   * The login session (auth_sessions.id) the token belongs to. Every token issued by login and
   * refresh has one; tokens minted by scripts/token.ts do not (they end only at `exp`).
   */
  sid?: Uuid;
}

/** The subject of a token. */
export interface TokenSubject {
  id: Uuid;
  organization_id: Uuid;
  role: UserRole;
  /** The login session; becomes the `sid` claim. */
  session_id?: Uuid;
}

export class TokenError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

export const TOKEN_ERROR_MESSAGES = {
  malformed: "token is not a valid JWT",
  algorithm: "token algorithm is not accepted",
  signature: "token signature is invalid",
  expired: "token has expired",
  claims: "token claims are invalid",
  wrongType: "a refresh token cannot be used here",
  notRefresh: "an access token cannot be used to refresh",
} as const;

export interface TokenServiceOptions {
  /** HMAC key (≥ 32 characters outside tests). */
  secret: string;
  /** Default HS256. */
  algorithm?: JwtAlgorithm;
  /** Default 900 (15 minutes). */
  accessTtlS?: number;
  /** Default 7 days. */
  refreshTtlS?: number;
}

/** Verified tokens remembered (oldest dropped first): a few MB at most. */
const VERIFIED_CACHE_MAX = 4096;

export class TokenService {
  readonly algorithm: JwtAlgorithm;
  readonly accessTtlS: number;
  readonly refreshTtlS: number;
  readonly #secret: Uint8Array<ArrayBuffer>;
  #key: Promise<CryptoKey> | undefined;
  /**
   * Tokens this service verified, with their claims: a client sends the same access token with
   * every request, and the HMAC check gives the same answer each time. Only `exp` can change the
   * verdict, and it is checked on every hit. Revocation is not a property of the token (the
   * database check in src/auth/access.ts runs on every request), so caching changes no decision.
   */
  readonly #verified = new Map<string, TokenClaims>();

  constructor(options: TokenServiceOptions) {
    this.#secret = new TextEncoder().encode(options.secret);
    this.algorithm = options.algorithm ?? "HS256";
    this.accessTtlS = options.accessTtlS ?? 900;
    this.refreshTtlS = options.refreshTtlS ?? 7 * 86400;
  }

  /**
   * The HMAC key, imported once. Given raw bytes, jose imports a CryptoKey on every sign and verify,
   * which was a quarter of the server's CPU on the REST send path.
   */
  #cryptoKey(): Promise<CryptoKey> {
    this.#key ??= crypto.subtle.importKey(
      "raw",
      this.#secret,
      { name: "HMAC", hash: `SHA-${this.algorithm.slice(2)}` },
      false,
      ["sign", "verify"],
    );
    return this.#key;
  }

  /** Signs a token; `ttlS` overrides the configured lifetime (tests, scripts/token.ts). */
  async sign(subject: TokenSubject, type: TokenType, ttlS?: number): Promise<string> {
    const ttl = ttlS ?? (type === "access" ? this.accessTtlS : this.refreshTtlS);
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, string> = {
      organization_id: subject.organization_id,
      role: subject.role,
      type,
    };
    if (subject.session_id) claims.sid = subject.session_id;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.algorithm, typ: "JWT" })
      .setSubject(subject.id)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .setJti(randomUUID())
      .sign(await this.#cryptoKey());
  }

  /** Verifies signature, algorithm, expiry, claim shapes and the token type; throws TokenError. */
  async verify(token: string, expected: TokenType): Promise<TokenClaims> {
    const known = this.#verified.get(token);
    // jose's rule: expired when exp <= now (seconds); an expired or other-typed token takes the full path for its error.
    if (known && known.type === expected && known.exp > Math.floor(Date.now() / 1000)) return { ...known };
    const claims = await this.#verifyFully(token, expected);
    if (this.#verified.size >= VERIFIED_CACHE_MAX) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(token, claims);
    return { ...claims };
  }

  async #verifyFully(token: string, expected: TokenType): Promise<TokenClaims> {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new TokenError(ERROR_CODES.invalidToken, TOKEN_ERROR_MESSAGES.malformed);
    }
    // Checked before verification so "alg: none" and algorithm confusion get their own answer.
    if (alg !== this.algorithm)
      throw new TokenError(ERROR_CODES.unsupportedAlgorithm, TOKEN_ERROR_MESSAGES.algorithm);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await this.#cryptoKey(), { algorithms: [this.algorithm] }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired)
        throw new TokenError(ERROR_CODES.tokenExpired, TOKEN_ERROR_MESSAGES.expired);
      if (err instanceof joseErrors.JWSSignatureVerificationFailed)
        throw new TokenError(ERROR_CODES.invalidSignature, TOKEN_ERROR_MESSAGES.signature);
      throw new TokenError(ERROR_CODES.invalidToken, TOKEN_ERROR_MESSAGES.malformed);
    }
    const { sub, organization_id, role, type, exp, iat, sid } = payload;
    if (type !== expected) {
      if (type === "refresh" || type === "access")
        throw new TokenError(
          ERROR_CODES.wrongTokenType,
          expected === "access" ? TOKEN_ERROR_MESSAGES.wrongType : TOKEN_ERROR_MESSAGES.notRefresh,
        );
      throw new TokenError(ERROR_CODES.invalidToken, TOKEN_ERROR_MESSAGES.claims);
    }
    if (
      typeof sub !== "string" ||
      !UUID_RE.test(sub) ||
      typeof organization_id !== "string" ||
      !UUID_RE.test(organization_id) ||
      !USER_ROLES.includes(role as UserRole) ||
      typeof exp !== "number" ||
      typeof iat !== "number" ||
      (sid !== undefined && (typeof sid !== "string" || !UUID_RE.test(sid)))
    )
      throw new TokenError(ERROR_CODES.invalidToken, TOKEN_ERROR_MESSAGES.claims);
    const claims: TokenClaims = { sub, organization_id, role: role as UserRole, type: expected, exp, iat };
    if (sid !== undefined) claims.sid = sid.toLowerCase();
    return claims;
  }
}
