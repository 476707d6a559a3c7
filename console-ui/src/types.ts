// The console API's records, as /api/v1/openapi.json describes them.

export type Role = "read-only" | "standard" | "admin";

export interface User {
  id: number;
  username: string;
  role: Role;
  disabled: boolean;
  locked_until: string | null;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

export interface Me {
  user: User;
  role: Role;
  token_kind: string;
  token_id: number;
}

export interface LoginResponse {
  token: string;
  token_type: string;
  expires_at: string;
  user: User;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

export interface NodeRecord {
  id: number;
  type: string;
  key: string;
  name: string;
  parent_id: number | null;
  attributes: { [key: string]: JsonValue } | null;
  active: boolean;
  first_seen: string;
  last_seen: string;
}

export interface FindingsSummary {
  total: number;
  suppressed: number;
  by_kind: Record<string, Record<string, number>>;
}

export interface NodeDetail extends NodeRecord {
  findings: FindingsSummary;
}

export interface Finding {
  id: number;
  node_id: number;
  kind: string;
  rule_id: string;
  fingerprint: string;
  severity: string;
  title: string;
  evidence: JsonValue;
  status: string;
  first_seen: string;
  last_seen: string;
  first_scan_id: number | null;
  last_scan_id: number | null;
  suppressed: boolean;
}

export interface Suppression {
  id: number;
  rule_id: string;
  node_id: number | null;
  reason: string;
  created_by: string;
  created_at: string;
}

export interface Scan {
  id: number;
  state: string;
  reason: string | null;
  targets: string[];
  scanners: string[];
  requested_by: string;
  runner: string | null;
  attempts: number;
  max_attempts: number;
  timeout_secs: number;
  created_at: string;
  started_at: string | null;
  heartbeat_at: string | null;
  finished_at: string | null;
}

export interface ScanDiff {
  scan: number;
  against: number;
  added: Finding[];
  added_total: number;
  removed: Finding[];
  removed_total: number;
  unchanged_total: number;
}

export interface EnrollmentToken {
  id: number;
  name: string;
  prefix: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  agent_id: number | null;
  revoked_at: string | null;
}

export interface CreatedEnrollment {
  token: string;
  info: EnrollmentToken;
}

export interface Agent {
  id: number;
  hostname: string;
  prefix: string;
  enrollment_token_id: number | null;
  created_at: string;
  last_seen_at: string | null;
  revoked_at: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor_id: number | null;
  actor: string;
  action: string;
  target: string | null;
  source: string | null;
  outcome: string;
  detail: JsonValue;
}

export interface Edge {
  id: number;
  kind: string;
  source: number;
  target: number;
  attributes: { [key: string]: JsonValue } | null;
  active: boolean;
}

export interface Topology {
  nodes: NodeRecord[];
  edges: Edge[];
  truncated: boolean;
}

export const NODE_TYPES = ["host", "container", "image", "pod", "namespace", "process", "internet", "service", "ingress"] as const;
export const FINDING_KINDS = ["vulnerability", "secret", "malware", "posture"] as const;
export const SEVERITIES = ["critical", "high", "medium", "low", "info", "unknown"] as const;
export const SCANNERS = ["vuln", "secret", "malware", "posture"] as const;
export const SCAN_STATES = ["queued", "running", "succeeded", "failed", "cancelled", "timed-out"] as const;
export const ROLES: readonly Role[] = ["read-only", "standard", "admin"];

export interface Token {
  id: number;
  user_id: number;
  username: string;
  kind: string;
  name: string;
  prefix: string;
  scope: Role | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}
