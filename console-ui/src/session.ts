// Who is logged in, and what their role allows. The UI hides what a role
// cannot do; the console enforces it on every request regardless.

import { get } from "./api";
import type { Me, Role } from "./types";

const RANK: Record<Role, number> = { "read-only": 0, standard: 1, admin: 2 };

let current: Me | null = null;

export function me(): Me | null {
  return current;
}

export function setMe(m: Me | null): void {
  current = m;
}

/** Whether the user's role in force is at least `role`. */
export function can(role: Role): boolean {
  return current !== null && RANK[current.role] >= RANK[role];
}

/** Asks the console who we are; null when not logged in. */
export async function refresh(): Promise<Me | null> {
  try {
    current = await get<Me>("/auth/me");
  } catch {
    current = null;
  }
  return current;
}
