/** Password hashing through Bun.password (argon2id by default, salted, self-describing hashes). */

export const hashPassword = (password: string): Promise<string> => Bun.password.hash(password);

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  try {
    return await Bun.password.verify(password, hash);
  } catch {
    // A malformed stored hash is a failed login, not a server error.
    return false;
  }
}

/** A printable random password for generated demo users. */
export const generatePassword = (): string =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("base64url");
