// Operators' roles (ADMIN_KEYS), each allowed what the ones before it are, and more:
// viewer looks people up (phone masked) and reads the audit trail; support also reveals a phone
// number, suspends and lifts, and ends sessions; admin also deletes people and runs benefits.
// Imported by the console too: no imports here.
export const ROLES = ['viewer', 'support', 'admin'] as const;

export type Role = (typeof ROLES)[number];

export function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}

/** Whether an operator of `role` may do what needs `needed`. */
export function allows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
